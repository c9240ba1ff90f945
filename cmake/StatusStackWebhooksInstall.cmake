include(CMakePackageConfigHelpers)

set(SSW_CONFIG_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/StatusStackWebhooks")

# Two export sets, so that a receiving service's find_package(... COMPONENTS core) loads the core
# alone and needs neither libcurl nor SQLite: StatusStackWebhooksCoreTargets (webhooks_core) and
# StatusStackWebhooksTargets (webhooks, which links the core).
install(TARGETS statusstack_webhooks_core
  EXPORT StatusStackWebhooksCoreTargets
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} NAMELINK_COMPONENT Development
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS statusstack_webhooks
  EXPORT StatusStackWebhooksTargets
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} NAMELINK_COMPONENT Development
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
if(TARGET statusstack_webhooks_postgres)
  install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/" DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  # The PostgreSQL store: its own export set, loaded only by find_package(... COMPONENTS postgres),
  # so that a consumer who does not ask for it needs no libpq.
  install(TARGETS statusstack_webhooks_postgres
    EXPORT StatusStackWebhooksPostgresTargets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  install(EXPORT StatusStackWebhooksPostgresTargets
    NAMESPACE StatusStack::
    DESTINATION ${SSW_CONFIG_DIR})
else()
  install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/" DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
    PATTERN "postgres.hpp" EXCLUDE)
endif()
install(FILES
  "${PROJECT_BINARY_DIR}/include/statusstack/webhooks/version.hpp"
  "${PROJECT_BINARY_DIR}/include/statusstack/webhooks/export.hpp"
  DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/statusstack/webhooks")
if(EXISTS "${PROJECT_SOURCE_DIR}/schemas")
  install(DIRECTORY "${PROJECT_SOURCE_DIR}/schemas/"
    DESTINATION "${CMAKE_INSTALL_DATADIR}/statusstack-webhooks/schemas"
    FILES_MATCHING PATTERN "*.json")
endif()

install(EXPORT StatusStackWebhooksCoreTargets
  NAMESPACE StatusStack::
  DESTINATION ${SSW_CONFIG_DIR})
install(EXPORT StatusStackWebhooksTargets
  NAMESPACE StatusStack::
  DESTINATION ${SSW_CONFIG_DIR})

# Static archives leave their dependencies to the program's link: the package config then finds
# them (find_dependency); shared libraries link them themselves and the config looks for none.
get_target_property(ssw_library_type statusstack_webhooks TYPE)
if(ssw_library_type STREQUAL "STATIC_LIBRARY")
  set(SSW_STATIC TRUE)
else()
  set(SSW_STATIC FALSE)
endif()

configure_package_config_file(
  "${PROJECT_SOURCE_DIR}/cmake/StatusStackWebhooksConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/StatusStackWebhooksConfig.cmake"
  INSTALL_DESTINATION ${SSW_CONFIG_DIR})
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/StatusStackWebhooksConfigVersion.cmake"
  COMPATIBILITY SameMajorVersion)
install(FILES
  "${PROJECT_BINARY_DIR}/StatusStackWebhooksConfig.cmake"
  "${PROJECT_BINARY_DIR}/StatusStackWebhooksConfigVersion.cmake"
  DESTINATION ${SSW_CONFIG_DIR})

# pkg-config. The prefix is found from the .pc file's own place, so `cmake --install --prefix DIR`
# gives a working file whatever CMAKE_INSTALL_PREFIX was at configure time.
set(ssw_pc_install_dir "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(SSW_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH ssw_pc_up "/prefix/${ssw_pc_install_dir}" "/prefix")  # two levels up: lib/pkgconfig
  string(REGEX REPLACE "/$" "" ssw_pc_up "${ssw_pc_up}")
  set(SSW_PC_PREFIX "\${pcfiledir}/${ssw_pc_up}")
endif()
foreach(kind LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${kind}}")
    set(SSW_PC_${kind} "${CMAKE_INSTALL_${kind}}")
  else()
    set(SSW_PC_${kind} "\${prefix}/${CMAKE_INSTALL_${kind}}")
  endif()
endforeach()
# A static archive leaves its dependencies to the program's link: they go in Requires and Libs,
# where `pkg-config --libs` (without --static) gives them. A shared library links them itself: they
# go in Requires.private and Libs.private. Two files: statusstack-webhooks-core (what a receiving
# service needs: OpenSSL's libcrypto) and statusstack-webhooks (delivery), which requires the core.
set(ssw_pc_core_requires "libcrypto >= 1.1.1")
set(ssw_pc_requires "libcurl >= 7.85, libcrypto >= 1.1.1, sqlite3 >= 3.35")
if(SSW_STATIC)
  string(CONCAT ssw_pc_core_link
    "Requires: ${ssw_pc_core_requires}\n"
    "Libs: -L\${libdir} -lstatusstack-webhooks-core\n"
    "Cflags: -I\${includedir} -DSTATUSSTACK_WEBHOOKS_STATIC_DEFINE")
  string(CONCAT ssw_pc_link
    "Requires: statusstack-webhooks-core = ${PROJECT_VERSION}, ${ssw_pc_requires}\n"
    "Libs: -L\${libdir} -lstatusstack-webhooks -pthread\n"
    "Cflags: -I\${includedir}")  # the core's Cflags add STATUSSTACK_WEBHOOKS_STATIC_DEFINE
else()
  string(CONCAT ssw_pc_core_link
    "Requires.private: ${ssw_pc_core_requires}\n"
    "Libs: -L\${libdir} -lstatusstack-webhooks-core\n"
    "Cflags: -I\${includedir}")
  string(CONCAT ssw_pc_link
    "Requires: statusstack-webhooks-core = ${PROJECT_VERSION}\n"
    "Requires.private: ${ssw_pc_requires}\n"
    "Libs: -L\${libdir} -lstatusstack-webhooks\n"
    "Libs.private: -pthread\n"
    "Cflags: -I\${includedir}")
endif()
function(ssw_pkg_config_file name description link)
  set(SSW_PC_NAME "${name}")
  set(SSW_PC_DESCRIPTION "${description}")
  set(SSW_PC_LINK "${link}")
  configure_file("${PROJECT_SOURCE_DIR}/cmake/statusstack-webhooks.pc.in"
    "${PROJECT_BINARY_DIR}/${name}.pc" @ONLY)
  install(FILES "${PROJECT_BINARY_DIR}/${name}.pc" DESTINATION "${ssw_pc_install_dir}")
endfunction()
ssw_pkg_config_file(statusstack-webhooks-core
  "Verify and parse StatusStack webhook events (events, signatures, formats)" "${ssw_pc_core_link}")
ssw_pkg_config_file(statusstack-webhooks "${PROJECT_DESCRIPTION}" "${ssw_pc_link}")
