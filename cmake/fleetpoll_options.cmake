# Warnings, sanitizers and fuzzing flags shared by every fleetpoll target.
add_library(fleetpoll_warnings INTERFACE)
target_compile_options(fleetpoll_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow
                       -Wnon-virtual-dtor -Wold-style-cast -Wcast-align)

if(FLEETPOLL_SANITIZE)
  message(STATUS "fleetpoll: sanitizers ${FLEETPOLL_SANITIZE}")
  add_compile_options(-fsanitize=${FLEETPOLL_SANITIZE} -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${FLEETPOLL_SANITIZE})
endif()

if(FLEETPOLL_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "FLEETPOLL_FUZZ needs clang: configure with -DCMAKE_CXX_COMPILER=clang++-14")
  endif()
  # Every object gets coverage instrumentation; only fuzz executables link libFuzzer's main.
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

# fleetpoll_add_fuzzer(NAME SOURCE LIBS...) — a libFuzzer executable with FLEETPOLL_FUZZ (clang).
# In ordinary test builds the same harness is linked with tests/fuzz/replay_main.cpp and run by
# ctest over its seed corpus (tests/fuzz/corpus/<NAME without fuzz_>), so every scripts/test
# exercises the harness and its seeds.
function(fleetpoll_add_fuzzer name source)
  string(REGEX REPLACE "^fuzz_" "" _corpus "${name}")
  set(_corpus_dir "${PROJECT_SOURCE_DIR}/tests/fuzz/corpus/${_corpus}")
  if(FLEETPOLL_FUZZ)
    add_executable(${name} ${source})
    target_link_libraries(${name} PRIVATE ${ARGN})
    target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  elseif(FLEETPOLL_TESTS AND EXISTS "${_corpus_dir}")
    add_executable(${name}_replay ${source} "${PROJECT_SOURCE_DIR}/tests/fuzz/replay_main.cpp")
    target_link_libraries(${name}_replay PRIVATE ${ARGN})
    add_test(NAME ${name}.corpus COMMAND ${name}_replay "${_corpus_dir}")
    set_tests_properties(${name}.corpus PROPERTIES LABELS unit TIMEOUT 120)
  endif()
endfunction()

# fleetpoll_add_test(NAME SOURCES... LIBS ...) — a GoogleTest executable registered with ctest.
function(fleetpoll_add_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} GTest::gtest_main GTest::gmock fleetpoll_warnings)
  target_compile_definitions(${name} PRIVATE
    FLEETPOLL_FIXTURES_DIR="${FLEETPOLL_FIXTURES_DIR}"
    FLEETPOLL_TEST_FIXTURES_DIR="${PROJECT_SOURCE_DIR}/tests/fixtures"
    FLEETPOLL_BINARY_DIR="${PROJECT_BINARY_DIR}")
  include(GoogleTest)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS "${T_LABELS}")
endfunction()
