# Builds a consumer project against tenantai, the way a product team would:
#   MODE=find_package      install this build tree into a prefix, then find_package(tenantai)
#   MODE=add_subdirectory  the consumer adds the source tree with add_subdirectory()
# and runs the consumer, which prints "consumer ok: tenant <id>".
foreach(var SOURCE_DIR BUILD_DIR WORK_DIR CONSUMER_DIR MODE)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "consumer_test.cmake: ${var} is not set")
  endif()
endforeach()
if(NOT BUILD_TYPE)
  set(BUILD_TYPE Release)
endif()

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "command failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
set(consumer_build "${WORK_DIR}/consumer-build")
set(configure_args -DCMAKE_BUILD_TYPE=${BUILD_TYPE} -DCMAKE_CXX_COMPILER=${CXX_COMPILER})

if(MODE STREQUAL "find_package")
  set(prefix "${WORK_DIR}/prefix")
  run(${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${prefix}" --config ${BUILD_TYPE})
  run(${CMAKE_COMMAND} -S "${CONSUMER_DIR}" -B "${consumer_build}" ${configure_args}
      "-DCMAKE_PREFIX_PATH=${prefix}")
elseif(MODE STREQUAL "add_subdirectory")
  run(${CMAKE_COMMAND} -S "${CONSUMER_DIR}" -B "${consumer_build}" ${configure_args}
      "-DTENANTAI_SOURCE_DIR=${SOURCE_DIR}")
else()
  message(FATAL_ERROR "unknown MODE ${MODE}")
endif()

run(${CMAKE_COMMAND} --build "${consumer_build}" --config ${BUILD_TYPE} -j 2)
run("${consumer_build}/consumer")
message(STATUS "${last_output}")
