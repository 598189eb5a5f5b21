# test_sstable_leveldb: Debian's libleveldb as an independent oracle. Its Table API is C++ only
# (leveldb/c.h opens whole databases, not bare tables), so this one test gets a small C++ file.
enable_language(CXX)
target_sources(${_name} PRIVATE ${CMAKE_SOURCE_DIR}/tests/unit/leveldb_oracle.cc)
target_link_libraries(${_name} PRIVATE leveldb)
set_target_properties(${_name} PROPERTIES LINKER_LANGUAGE CXX)
