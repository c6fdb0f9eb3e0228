# Warnings are kept at zero with -Wall -Wextra; TENANTAI_WERROR turns them into errors (CI does).
function(tenantai_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow=local)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    # GCC 12 false positive on std::string operator+ at -O2 (GCC PR 105651/105329).
    target_compile_options(${target} PRIVATE -Wno-restrict)
  endif()
  if(TENANTAI_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
