# ctest Fuzz.<name>: each fuzzer of the clang build (scripts/fuzz.sh build, which scripts/test.sh runs)
# over its corpus, then for a few seconds; any crash fails. A fuzzer that was not built fails too.
# Serial: the fuzzers use all the CPU they get, and the integration tests must not starve beside them.
set(CHARGEHUB_FUZZ_BUILD_DIR "${CMAKE_SOURCE_DIR}/build-fuzz" CACHE PATH "Where scripts/fuzz.sh builds the fuzzers")
foreach(name frame_stream bodies payloads differential plugin_auth firmware)
  add_test(NAME Fuzz.${name} COMMAND ${CMAKE_SOURCE_DIR}/scripts/fuzz.sh smoke ${name})
  set_tests_properties(Fuzz.${name} PROPERTIES RUN_SERIAL ON TIMEOUT 120
    ENVIRONMENT "FUZZ_BUILD_DIR=${CHARGEHUB_FUZZ_BUILD_DIR}")
endforeach()
