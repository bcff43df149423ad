-- Every script ends here: one WRK_JSON line with the run's figures, which
-- api_runs.py reads from wrk's output.

done = function(summary, latency, requests)
  local e = summary.errors
  local late_total, paced_total, repeats_total = 0, 0, 0
  for _, thread in ipairs(all_threads) do
    late_total = late_total + (thread:get("late") or 0)
    paced_total = paced_total + (thread:get("paced") or 0)
    repeats_total = repeats_total + (thread:get("repeats") or 0)
  end
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "non2xx": %d, "socket_errors": %d, '
    .. '"p50_us": %d, "p95_us": %d, "p99_us": %d, "late": %d, "paced": %d, "repeats": %d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    late_total, paced_total, repeats_total))
end
