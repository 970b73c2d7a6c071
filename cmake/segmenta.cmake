# segmenta_add_test(NAME SOURCES... LIBS ...): one GoogleTest binary registered with ctest.
function(segmenta_add_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} GTest::gtest GTest::gtest_main GTest::gmock)
  # Shared fixtures are included as "tests/<stage>/<name>.h".
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR})
  target_compile_definitions(${name} PRIVATE
    SEGMENTA_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    SEGMENTA_BINARY_DIR="${PROJECT_BINARY_DIR}")
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS "${ARG_LABELS}")
endfunction()

# segmenta_add_benchmark(NAME SOURCES... LIBS ...): one Google Benchmark binary.
function(segmenta_add_benchmark name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} benchmark::benchmark benchmark::benchmark_main)
  # Shared fixtures are included as "tests/testing/<name>.h".
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR})
endfunction()
include(GoogleTest)
