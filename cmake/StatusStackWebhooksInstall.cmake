include(CMakePackageConfigHelpers)

set(SSW_CONFIG_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/StatusStackWebhooks")

install(TARGETS statusstack_webhooks
  EXPORT StatusStackWebhooksTargets
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} NAMELINK_COMPONENT Development
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/" DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES
  "${PROJECT_BINARY_DIR}/include/statusstack/webhooks/version.hpp"
  "${PROJECT_BINARY_DIR}/include/statusstack/webhooks/export.hpp"
  DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/statusstack/webhooks")
if(EXISTS "${PROJECT_SOURCE_DIR}/schemas")
  install(DIRECTORY "${PROJECT_SOURCE_DIR}/schemas/"
    DESTINATION "${CMAKE_INSTALL_DATADIR}/statusstack-webhooks/schemas"
    FILES_MATCHING PATTERN "*.json")
endif()

install(EXPORT StatusStackWebhooksTargets
  NAMESPACE StatusStack::
  DESTINATION ${SSW_CONFIG_DIR})

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

# pkg-config: the private dependencies matter only when linking the static archive.
configure_file("${PROJECT_SOURCE_DIR}/cmake/statusstack-webhooks.pc.in"
  "${PROJECT_BINARY_DIR}/statusstack-webhooks.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/statusstack-webhooks.pc"
  DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
