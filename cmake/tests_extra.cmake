# Build and packaging checks (tests/build/*.sh): exports, layering, install + consumers, Python.
add_test(NAME build/check_exports COMMAND bash ${SC_SRC}/tests/build/check_exports.sh
         $<TARGET_FILE:sidecar_shared> ${SC_SRC} ${SC_GEN_INCLUDE})
add_test(NAME build/check_layers COMMAND bash ${SC_SRC}/tests/build/check_layers.sh
         ${PROJECT_BINARY_DIR} ${SC_SRC})
# A sanitized library cannot be linked by a plain consumer or loaded by python3: the install
# and Python checks run in the normal build only.
if(NOT SC_SANITIZE AND NOT SC_FUZZ)
  add_test(NAME build/install_consumer COMMAND bash ${SC_SRC}/tests/build/install_consumer.sh
           ${PROJECT_BINARY_DIR} ${SC_SRC})
  set_tests_properties(build/install_consumer PROPERTIES TIMEOUT 600)
  file(GLOB SC_PY_TESTS CONFIGURE_DEPENDS ${SC_SRC}/tests/python/test_*.py)
  foreach(t IN LISTS SC_PY_TESTS)
    get_filename_component(_name ${t} NAME_WE)
    add_test(NAME python/${_name} COMMAND /usr/bin/python3 ${t})
    set_tests_properties(python/${_name} PROPERTIES TIMEOUT 600
      ENVIRONMENT "PYTHONPATH=${SC_SRC}/python;SIDECAR_LIBRARY=$<TARGET_FILE:sidecar_shared>;SC_BUILD_DIR=${PROJECT_BINARY_DIR};SC_SOURCE_DIR=${SC_SRC}")
  endforeach()
endif()

# keras.applications (tests/golden/test_applications.c): generates ResNet50's 23.6M weights and
# writes three 94 MB weight files; about 30 s normally, 2 min under ASan on a loaded machine.
set_tests_properties(golden/test_applications PROPERTIES TIMEOUT 1200 LABELS slow)
