# bench/bench_pb.cmake — included by CMakeLists.txt for the bench_pb target (${_name}).
# When protoc-c and libprotobuf-c are installed, generates C code from
# bench/proto/tensor_bundle.proto and links it, so bench_pb can compare the hand-written codec
# with protobuf-c; otherwise bench_pb prints "protobuf-c not installed: skipped".
find_program(SC_PROTOC_C protoc-c)
pkg_check_modules(SC_PROTOBUF_C QUIET IMPORTED_TARGET libprotobuf-c)
if(SC_PROTOC_C AND SC_PROTOBUF_C_FOUND)
  set(_sc_pb_gen ${CMAKE_BINARY_DIR}/bench_proto)
  set(_sc_pb_proto ${CMAKE_SOURCE_DIR}/bench/proto/tensor_bundle.proto)
  add_custom_command(
    OUTPUT ${_sc_pb_gen}/tensor_bundle.pb-c.c ${_sc_pb_gen}/tensor_bundle.pb-c.h
    COMMAND ${CMAKE_COMMAND} -E make_directory ${_sc_pb_gen}
    COMMAND ${SC_PROTOC_C} --c_out=${_sc_pb_gen} -I${CMAKE_SOURCE_DIR}/bench/proto ${_sc_pb_proto}
    DEPENDS ${_sc_pb_proto}
    COMMENT "protoc-c: generating tensor_bundle.pb-c.c for bench_pb"
    VERBATIM)
  target_sources(${_name} PRIVATE ${_sc_pb_gen}/tensor_bundle.pb-c.c)
  # Generated code is not held to the project's warning flags.
  set_source_files_properties(${_sc_pb_gen}/tensor_bundle.pb-c.c PROPERTIES COMPILE_OPTIONS -w)
  target_include_directories(${_name} PRIVATE ${_sc_pb_gen})
  target_link_libraries(${_name} PRIVATE PkgConfig::SC_PROTOBUF_C)
  target_compile_definitions(${_name} PRIVATE SC_HAVE_PROTOBUF_C=1)
else()
  message(STATUS "bench_pb: protoc-c or libprotobuf-c not found: comparison skipped")
endif()
