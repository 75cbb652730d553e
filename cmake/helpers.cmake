# Small helpers so that each new target is a line or three.

# Warnings for our own code. -Wconversion is kept to the libraries: gtest and
# benchmark macros trip it in test code.
set(FE_WARNINGS -Wall -Wextra -Wshadow)
if(FE_WERROR)
  list(APPEND FE_WARNINGS -Werror)
endif()

# fe_add_library(NAME DIR dir [DEPS ...])
# A library built from every *.cc in DIR (not recursive; internal/ included).
# Header-only folders become INTERFACE libraries.
function(fe_add_library NAME)
  cmake_parse_arguments(ARG "" "DIR" "DEPS" ${ARGN})
  file(GLOB _srcs CONFIGURE_DEPENDS ${ARG_DIR}/*.cc ${ARG_DIR}/internal/*.cc)
  if(_srcs)
    add_library(${NAME} STATIC ${_srcs})
    target_include_directories(${NAME} PUBLIC ${PROJECT_SOURCE_DIR})
    target_compile_options(${NAME} PRIVATE ${FE_WARNINGS} -Wconversion)
    target_link_libraries(${NAME} PUBLIC ${ARG_DEPS})
  else()
    add_library(${NAME} INTERFACE)
    target_include_directories(${NAME} INTERFACE ${PROJECT_SOURCE_DIR})
    target_link_libraries(${NAME} INTERFACE ${ARG_DEPS})
  endif()
endfunction()

# fe_add_test_dir(DIR LIBS ...)
# One GoogleTest binary per folder of *_test.cc files, named after the folder
# (tests/unit/core/sip -> unit_core_sip); each TEST is its own CTest case.
function(fe_add_test_dir DIR)
  cmake_parse_arguments(ARG "" "" "LIBS" ${ARGN})
  file(GLOB _srcs CONFIGURE_DEPENDS ${DIR}/*_test.cc)
  if(NOT _srcs)
    return()
  endif()
  file(RELATIVE_PATH _rel ${PROJECT_SOURCE_DIR}/tests ${DIR})
  string(REPLACE "/" "_" _name ${_rel})
  add_executable(${_name} ${_srcs})
  target_compile_options(${_name} PRIVATE ${FE_WARNINGS})
  target_link_libraries(${_name} PRIVATE ${ARG_LIBS} GTest::gtest GTest::gtest_main GTest::gmock)
  target_include_directories(${_name} PRIVATE ${PROJECT_SOURCE_DIR})
  include(GoogleTest)
  gtest_discover_tests(${_name} DISCOVERY_MODE PRE_TEST DISCOVERY_TIMEOUT 60
                       PROPERTIES LABELS unit)
endfunction()

# fe_add_fuzzer(NAME SOURCE LIBS ...): a libFuzzer target (Fuzz build only).
function(fe_add_fuzzer NAME SOURCE)
  cmake_parse_arguments(ARG "" "" "LIBS" ${ARGN})
  add_executable(${NAME} ${SOURCE})
  target_link_libraries(${NAME} PRIVATE ${ARG_LIBS})
  target_link_options(${NAME} PRIVATE -fsanitize=fuzzer)
endfunction()
