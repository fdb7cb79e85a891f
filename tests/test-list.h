/*
 * Every test, once (style.md 25). tests/CMakeLists.txt reads this file and
 * makes one ctest entry per line, named LAYER.NAME with the layer's
 * timeout; runner.c reads it to find the function test_NAME.
 *
 * Layers: unit (pure modules), loopback (bytes through the real connection
 * and router code, no sockets), e2e (a real tipd and PostgreSQL).
 */
#define TEST_LIST(X)                                                           \
    X(unit, buf_bounded)                                                       \
    X(unit, arena_reset_reuses)                                                \
    X(unit, config_layers_and_errors)                                          \
    X(unit, config_example_names_every_key)                                    \
    X(unit, headscan_accepts_valid_heads)                                      \
    X(unit, headscan_rejects_smuggling_shapes)                                 \
    X(unit, headscan_limits)                                                   \
    X(unit, router_matches_params)                                             \
    X(unit, receipt_codes)                                                     \
    X(unit, report_json_fields)                                                \
    X(unit, report_times)                                                      \
    X(unit, ratelimit_clients_and_buckets)                                     \
    X(unit, utf8_strict)                                                       \
    X(unit, form_urlencoded)                                                   \
    X(unit, form_multipart)                                                    \
    X(unit, form_limits_and_malformed)                                         \
    X(unit, migrations_embedded_in_order)                                      \
    X(unit, utf8_count_and_controls)                                           \
    X(unit, form_multipart_syntax)                                             \
    X(unit, workdays_civil_dates)                                              \
    X(unit, workdays_shipped_calendar)                                         \
    X(unit, workdays_deadlines_spring_festival)                                \
    X(unit, workdays_deadlines_national_day)                                   \
    X(unit, workdays_fallback_outside_known_years)                             \
    X(unit, workdays_malformed_lines)                                          \
    X(unit, workdays_failed_reload_keeps_calendar)                             \
    X(unit, rules_shipped_file)                                                \
    X(unit, rules_normalised_texts)                                            \
    X(unit, rules_names_and_levels)                                            \
    X(unit, rules_error_syntax)                                                \
    X(unit, rules_error_unknown_key)                                           \
    X(unit, rules_error_missing_and_duplicate_key)                             \
    X(unit, rules_error_types)                                                 \
    X(unit, rules_error_version)                                               \
    X(unit, rules_error_units)                                                 \
    X(unit, rules_error_ranks)                                                 \
    X(unit, rules_error_channels)                                              \
    X(unit, rules_error_categories)                                            \
    X(unit, rules_error_actions)                                               \
    X(unit, rules_error_limits)                                                \
    X(unit, norm_nfkc_t2s_casefold)                                            \
    X(unit, norm_slow_path_and_bad_bytes)                                      \
    X(unit, textsig_amounts_and_overlap)                                       \
    X(unit, triage_routing_rules)                                              \
    X(unit, triage_decisions)                                                  \
    X(unit, triage_unnamed_reports_cluster)                                    \
    X(unit, triage_restore_matches_decide)                                     \
    X(loopback, conn_keepalive_and_pipelining)                                 \
    X(loopback, conn_body_content_length_and_chunked)                          \
    X(loopback, conn_limits_exact_statuses)                                    \
    X(loopback, conn_smuggling_vectors)                                        \
    X(loopback, conn_split_at_every_offset)                                    \
    X(loopback, conn_deadlines)                                                \
    X(loopback, conn_expect_continue)                                          \
    X(loopback, conn_admission_before_body)                                    \
    X(e2e, serve_health_ready_metrics)                                         \
    X(e2e, serve_refuses_unmigrated_database)                                  \
    X(e2e, migrate_is_idempotent)                                              \
    X(e2e, malformed_request_keeps_serving)                                    \
    X(e2e, sigterm_under_load_answers_in_flight)                               \
    X(e2e, readyz_follows_database)                                            \
    X(e2e, smuggling_corpus)                                                   \
    X(e2e, limits_exact_statuses)                                              \
    X(e2e, golden_raw_http)                                                    \
    X(e2e, slow_header_deadline)                                               \
    X(e2e, slow_body_min_rate)                                                 \
    X(e2e, connection_cap)                                                     \
    X(e2e, intake_web_json)                                                    \
    X(e2e, intake_status_and_messages)                                         \
    X(e2e, intake_staff_tokens)                                                \
    X(e2e, intake_rate_limit)                                                  \
    X(e2e, intake_database_down)                                               \
    X(e2e, intake_web_form)                                                    \
    X(e2e, sms_replays_and_forgeries)                                          \
    X(e2e, sms_kannel_end_to_end)                                              \
    X(e2e, sms_status_by_sms)                                                  \
    X(e2e, sms_repeat_window)                                                  \
    X(e2e, sms_database_outage)                                                \
    X(e2e, triage_routes_reports_to_cases)                                     \
    X(e2e, triage_rules_reload_on_sighup)                                      \
    X(e2e, triage_late_commit_is_triaged)                                      \
    X(e2e, triage_exactly_once_under_terminations)                             \
    X(e2e, triage_one_worker_among_nodes)                                      \
    X(e2e, triage_memory_is_bounded)                                           \
    X(e2e, casework_walls_and_actions)                                         \
    X(e2e, casework_leases)                                                    \
    X(e2e, casework_route_role_matrix)                                         \
    X(e2e, casework_reporter_sees_progress)                                    \
    X(e2e, casework_assignment)
