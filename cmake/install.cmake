# make install / cmake --install: libsidecar.so (SONAME libsidecar.so.<SOVERSION>), libsidecar.a,
# the public headers, pkg-config and CMake package files, the `sidecar` command, its man page
# and the Python package. DESTDIR is honoured by `cmake --install`.
include(GNUInstallDirs)
set(SC_PYTHON_DIR "lib/python3/dist-packages" CACHE STRING
    "Where `make install` puts the Python package, relative to the prefix (Debian's python3 \
searches <prefix>/lib/python3/dist-packages for /usr and /usr/local)")

install(TARGETS sidecar_shared sidecar_static
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES ${SC_PUBLIC_HEADERS} ${SC_GEN_INCLUDE}/sidecar/version.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/sidecar)

set(SC_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
set(SC_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
configure_file(${SC_SRC}/cmake/sidecar.pc.in ${PROJECT_BINARY_DIR}/sidecar.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/sidecar.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

set(_cfgdir ${CMAKE_INSTALL_LIBDIR}/cmake/sidecar)
file(RELATIVE_PATH SC_CONFIG_TO_PREFIX /sc_prefix/${_cfgdir} /sc_prefix)
configure_file(${SC_SRC}/cmake/sidecarConfig.cmake.in ${PROJECT_BINARY_DIR}/sidecarConfig.cmake @ONLY)
include(CMakePackageConfigHelpers)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/sidecarConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/sidecarConfig.cmake ${PROJECT_BINARY_DIR}/sidecarConfigVersion.cmake
        DESTINATION ${_cfgdir})

if(TARGET sidecar_cli)
  install(TARGETS sidecar_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  # The man page, generated from the command's --help texts (cmake/manpage.cmake).
  add_custom_command(OUTPUT ${PROJECT_BINARY_DIR}/sidecar.1
    COMMAND ${CMAKE_COMMAND} -DCLI=$<TARGET_FILE:sidecar_cli> -DOUT=${PROJECT_BINARY_DIR}/sidecar.1
            -P ${SC_SRC}/cmake/manpage.cmake
    DEPENDS sidecar_cli ${SC_SRC}/cmake/manpage.cmake
    COMMENT "Generating the man page sidecar.1 from sidecar --help" VERBATIM)
  add_custom_target(sidecar_man ALL DEPENDS ${PROJECT_BINARY_DIR}/sidecar.1)
  install(FILES ${PROJECT_BINARY_DIR}/sidecar.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
endif()

# Python: the package from python/sidecar plus _libpath.py naming the installed library.
file(GLOB SC_PY_SRCS CONFIGURE_DEPENDS ${SC_SRC}/python/sidecar/*.py)
if(SC_PY_SRCS)
  install(FILES ${SC_PY_SRCS} DESTINATION ${SC_PYTHON_DIR}/sidecar)
  configure_file(${SC_SRC}/cmake/install_libpath.cmake.in ${PROJECT_BINARY_DIR}/install_libpath.cmake @ONLY)
  install(SCRIPT ${PROJECT_BINARY_DIR}/install_libpath.cmake)
endif()
