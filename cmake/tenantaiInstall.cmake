# install(EXPORT) + package config + version file, the way fmt and spdlog do it.
include(CMakePackageConfigHelpers)

set(TENANTAI_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/tenantai")

install(TARGETS tenantai
  EXPORT tenantaiTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/tenantai DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT tenantaiTargets
  NAMESPACE tenantai::
  DESTINATION ${TENANTAI_CMAKE_DIR})

# The config looks up the private dependencies only for a static library (see the .in file).
get_target_property(tenantai_install_type tenantai TYPE)
if(tenantai_install_type STREQUAL "SHARED_LIBRARY")
  set(TENANTAI_SHARED_LIBRARY ON)
else()
  set(TENANTAI_SHARED_LIBRARY OFF)
endif()
configure_package_config_file(
  cmake/tenantaiConfig.cmake.in
  "${PROJECT_BINARY_DIR}/tenantaiConfig.cmake"
  INSTALL_DESTINATION ${TENANTAI_CMAKE_DIR})
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/tenantaiConfigVersion.cmake"
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)
install(FILES
  "${PROJECT_BINARY_DIR}/tenantaiConfig.cmake"
  "${PROJECT_BINARY_DIR}/tenantaiConfigVersion.cmake"
  DESTINATION ${TENANTAI_CMAKE_DIR})
