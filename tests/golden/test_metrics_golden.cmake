# The metric goldens read tests/golden/data_metrics/*.json (scripts/metrics-golden) with jansson.
target_link_libraries(test_metrics_golden PRIVATE PkgConfig::JANSSON)
target_compile_definitions(test_metrics_golden PRIVATE
  SC_METRICS_GOLDEN_DIR="${CMAKE_SOURCE_DIR}/tests/golden/data_metrics")
