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
