# The router daemon: library hilo_router (every part) + the thin hilo-router executable.

# The reports' roll-ups read and their CSV written (console/report_format.c): pure, shared by the
# console and the CLI (`hilo report daily`).
add_library(hilo_report STATIC ${CMAKE_CURRENT_LIST_DIR}/console/report_format.c)
target_include_directories(hilo_report PUBLIC ${CMAKE_CURRENT_LIST_DIR}/console)
target_link_libraries(hilo_report PUBLIC hilo_base hilo_compliance PkgConfig::JANSSON)
hilo_strict(hilo_report)

add_library(hilo_router STATIC
  ${CMAKE_CURRENT_LIST_DIR}/rconfig.c
  ${CMAKE_CURRENT_LIST_DIR}/pacing.c
  ${CMAKE_CURRENT_LIST_DIR}/sla.c
  ${CMAKE_CURRENT_LIST_DIR}/messages.c
  ${CMAKE_CURRENT_LIST_DIR}/costs.c
  ${CMAKE_CURRENT_LIST_DIR}/metrics.c
  ${CMAKE_CURRENT_LIST_DIR}/redis_uv.c
  ${CMAKE_CURRENT_LIST_DIR}/store.c
  ${CMAKE_CURRENT_LIST_DIR}/schema_gate.c
  ${CMAKE_CURRENT_LIST_DIR}/link_server.c
  ${CMAKE_CURRENT_LIST_DIR}/identity_table.c
  ${CMAKE_CURRENT_LIST_DIR}/identity_cache.c
  ${CMAKE_CURRENT_LIST_DIR}/inbound.c
  ${CMAKE_CURRENT_LIST_DIR}/clock.c
  ${CMAKE_CURRENT_LIST_DIR}/calls.c
  ${CMAKE_CURRENT_LIST_DIR}/dispatch.c
  ${CMAKE_CURRENT_LIST_DIR}/engine.c
  ${CMAKE_CURRENT_LIST_DIR}/engine_indexes.c
  ${CMAKE_CURRENT_LIST_DIR}/promise_ledger.c
  ${CMAKE_CURRENT_LIST_DIR}/promises.c
  ${CMAKE_CURRENT_LIST_DIR}/turns.c
  ${CMAKE_CURRENT_LIST_DIR}/strategy_run.c
  ${CMAKE_CURRENT_LIST_DIR}/strategy_optimize.c
  ${CMAKE_CURRENT_LIST_DIR}/clock_check.c
  ${CMAKE_CURRENT_LIST_DIR}/http.c
  ${CMAKE_CURRENT_LIST_DIR}/console/console.c
  ${CMAKE_CURRENT_LIST_DIR}/console/batch.c
  ${CMAKE_CURRENT_LIST_DIR}/console/auth.c
  ${CMAKE_CURRENT_LIST_DIR}/console/login_source.c
  ${CMAKE_CURRENT_LIST_DIR}/console/login_throttle.c
  ${CMAKE_CURRENT_LIST_DIR}/console/access_log.c
  ${CMAKE_CURRENT_LIST_DIR}/console/routing.c
  ${CMAKE_CURRENT_LIST_DIR}/console/refusals.c
  ${CMAKE_CURRENT_LIST_DIR}/console/views.c
  ${CMAKE_CURRENT_LIST_DIR}/console/click_to_call.c
  ${CMAKE_CURRENT_LIST_DIR}/console/system_msg.c
  ${CMAKE_CURRENT_LIST_DIR}/console/supervisor.c
  ${CMAKE_CURRENT_LIST_DIR}/console/search.c
  ${CMAKE_CURRENT_LIST_DIR}/console/floor_gauges.c
  ${CMAKE_CURRENT_LIST_DIR}/console/notice.c
  ${CMAKE_CURRENT_LIST_DIR}/console/debtor_panel.c
  ${CMAKE_CURRENT_LIST_DIR}/console/identity_check.c
  ${CMAKE_CURRENT_LIST_DIR}/console/payment_link.c
  ${CMAKE_CURRENT_LIST_DIR}/console/promise_plan.c
  ${CMAKE_CURRENT_LIST_DIR}/console/takeover.c
  ${CMAKE_CURRENT_LIST_DIR}/console/admin_view.c
  ${CMAKE_CURRENT_LIST_DIR}/console/sla_mark.c
  ${CMAKE_CURRENT_LIST_DIR}/console/sla_resolution.c
  ${CMAKE_CURRENT_LIST_DIR}/console/drill.c
  ${CMAKE_CURRENT_LIST_DIR}/console/drill_rows.c
  ${CMAKE_CURRENT_LIST_DIR}/console/drill_alerts.c
  ${CMAKE_CURRENT_LIST_DIR}/console/floor_join.c
  ${CMAKE_CURRENT_LIST_DIR}/console/strategies.c
  ${CMAKE_CURRENT_LIST_DIR}/console/strategy_view.c
  ${CMAKE_CURRENT_LIST_DIR}/console/reports.c
  ${CMAKE_CURRENT_LIST_DIR}/router.c)
target_include_directories(hilo_router PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(hilo_router PUBLIC hilo_name_index hilo_report hilo_bot hilo_compliance hilo_strategy hilo_optimizer hilo_state hilo_base hilo_phone hilo_link_keys hilo_watchdog PkgConfig::HIREDIS PkgConfig::UV PkgConfig::ZMQ
                      PkgConfig::LWS PkgConfig::JANSSON PkgConfig::CRYPTO PkgConfig::SODIUM)
hilo_strict(hilo_router)

add_executable(hilo-router ${CMAKE_CURRENT_LIST_DIR}/main.c)
target_link_libraries(hilo-router PRIVATE hilo_router)
hilo_strict(hilo-router)
install(TARGETS hilo-router RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})
