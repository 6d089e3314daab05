using System.Globalization;
using System.Text;
using Polymur.Gateway.Tenants;

namespace Polymur.Gateway.Telemetry;

/// <summary>
/// The Prometheus text exposition format (0.0.4), written by hand: a few dozen series do not need an exporter
/// library, and this keeps the binary free of reflection. Each family gets # HELP and # TYPE, then its samples.
/// </summary>
public static class PrometheusText
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    public static string Write(StatsSnapshot s) => string.Concat(Chunks(s));

    /// <summary>
    /// The exposition in pieces of about <see cref="Writer.ChunkChars"/>, so that a large one (thousands of
    /// tenants) is sent as it is written, never held whole.
    /// </summary>
    public static IEnumerable<string> Chunks(StatsSnapshot s)
    {
        var w = new Writer();
        w.Family("polymur_gateway_points_received_total", "counter", "Lines received in accepted batches (valid, invalid and too long).")
            .Sample(s.Ingest.LinesReceived);
        w.Family("polymur_gateway_points_invalid_total", "counter", "Lines dropped before routing, by reason.")
            .Sample(s.Ingest.LinesInvalid, ("reason", "invalid"))
            .Sample(s.Ingest.LinesTooLong, ("reason", "too_long"));
        w.Family("polymur_gateway_self_metric_points_total", "counter", "The gateway's own -metrics-flush lines, routed like received lines.")
            .Sample(s.Ingest.SelfMetricLines);
        w.Family("polymur_gateway_batches_accepted_total", "counter", "Batches answered 200.")
            .Sample(s.Ingest.BatchesAccepted);
        var latency = w.Family("polymur_gateway_ingest_request_duration_seconds", "histogram", "/ingest requests, from the handler's start to its answer, whatever the answer.");
        for (int i = 0; i < s.IngestLatency.Cumulative.Length; i++)
            latency.Sample("_bucket", s.IngestLatency.Cumulative[i], ("le", i < s.IngestLatency.Bounds.Length ? s.IngestLatency.Bounds[i].ToString(System.Globalization.CultureInfo.InvariantCulture) : "+Inf"));
        latency.Sample("_sum", s.IngestLatency.SumSeconds);
        latency.Sample("_count", s.IngestLatency.Count);
        var refused = w.Family("polymur_gateway_batches_refused_total", "counter", "Requests refused, by HTTP status.");
        foreach (var (status, count) in s.Ingest.BatchesRefused)
            refused.Sample(count, ("status", status));

        w.PerDestination(s, "polymur_gateway_points_routed_total", "counter", "Points given to a destination's queue (or dropped for it).", d => d.Routed);
        w.PerDestination(s, "polymur_gateway_points_delivered_total", "counter", "Points whose bytes the destination's TCP acknowledged.", d => d.Delivered);
        w.PerDestination(s, "polymur_gateway_points_written_total", "counter", "Points handed to the kernel for a destination, acknowledged or not (resent ones again).", d => d.Written);
        w.PerDestination(s, "polymur_gateway_destination_written_bytes_total", "counter", "Bytes handed to the kernel for a destination.", d => d.WrittenBytes);
        var dropped = w.Family("polymur_gateway_points_dropped_total", "counter", "Points dropped for a destination, by reason.");
        foreach (var d in s.Destinations)
            foreach (var (reason, count) in d.Dropped)
                dropped.Sample(count, ("destination", d.Name), ("reason", reason));
        w.PerDestination(s, "polymur_gateway_points_queued", "gauge", "Points queued or being written, per destination.", d => d.Queued);
        w.PerDestination(s, "polymur_gateway_queue_capacity_points", "gauge", "A destination queue's capacity (-outgoing-queue-cap).", d => d.QueueCapacity);
        w.PerDestination(s, "polymur_gateway_points_resent_total", "counter", "Lines sent again after a connection loss, in case the destination had not read them.", d => d.Resent);
        w.PerDestination(s, "polymur_gateway_points_refused_total", "counter", "Points of batches refused with 503 because the destination's spool could not take its part.", d => d.Refused);
        w.PerDestination(s, "polymur_gateway_points_spooled_total", "counter", "Points written to the destination's spool (-spool-dir).", d => d.Spooled);
        w.PerDestination(s, "polymur_gateway_spool_pending_points", "gauge", "Points in the destination's spool not yet delivered.", d => d.SpoolPending);
        w.PerDestination(s, "polymur_gateway_spool_bytes", "gauge", "Disk the destination's spool takes.", d => d.SpoolBytes);
        w.PerDestination(s, "polymur_gateway_spool_files", "gauge", "Segment files in the destination's spool.", d => d.SpoolFiles);
        w.PerDestination(s, "polymur_gateway_spool_oldest_age_seconds", "gauge", "Age of the oldest point in the destination's spool (0 when empty).", d => d.SpoolOldestSeconds ?? 0);
        w.PerDestination(s, "polymur_gateway_destination_connected", "gauge", "1 while the destination's connection is open.", d => d.Connected ? 1 : 0);
        w.PerDestination(s, "polymur_gateway_destination_down", "gauge", "1 while the destination is down: not connected, or declared down for acknowledging nothing for -destination-timeout.", d => d.Down ? 1 : 0);
        w.PerDestination(s, "polymur_gateway_destination_timeouts_total", "counter", "Times the destination was declared down for acknowledging nothing for -destination-timeout.", d => d.Timeouts);
        w.PerDestination(s, "polymur_gateway_destination_writer_errors_total", "counter", "Unexpected errors a destination's writer caught and carried on after.", d => d.WriterErrors);
        w.PerDestination(s, "polymur_gateway_destination_writer_running", "gauge", "1 while the destination's writer runs; 0 fails /healthz.", d => d.WriterRunning ? 1 : 0);
        w.PerDestination(s, "polymur_gateway_destination_tls_failures_total", "counter", "TLS handshakes or certificate checks that failed (tls:// destinations).", d => d.TlsFailures);

        w.Family("polymur_gateway_inflight_batches", "gauge", "Accepted batches held in memory.").Sample(s.IncomingQueue.CurrentSize);
        w.Family("polymur_gateway_inflight_batches_limit", "gauge", "-incoming-queue-cap.").Sample(s.IncomingQueue.Limit);
        w.Family("polymur_gateway_api_keys", "gauge", "Valid API keys in the cache.").Sample(s.Keys.Count);
        w.Family("polymur_gateway_key_source_reachable", "gauge", "1 when the last key sync succeeded.").Sample(s.Keys.Reachable ? 1 : 0);

        foreach (var chunk in WriteTenants(w, s.Tenants))
            yield return chunk;

        w.Family("polymur_gateway_batch_memory_bytes", "gauge", "Batch buffers in use: inflating, queued or being written.").Sample(s.Buffers.InUseBytes);
        w.Family("polymur_gateway_batch_memory_limit_bytes", "gauge", "-max-batch-memory.").Sample(s.Buffers.InUseLimitBytes);
        if (s.Spool is { } spool)
        {
            w.Family("polymur_gateway_spool_used_bytes", "gauge", "Disk all spools take, orphans included.").Sample(spool.UsedBytes);
            w.Family("polymur_gateway_spool_limit_bytes", "gauge", "-spool-max-size.").Sample(spool.LimitBytes);
            w.Family("polymur_gateway_spool_orphans", "gauge", "Spools kept for destinations no longer configured.").Sample(spool.Orphans.Length);
            w.Family("polymur_gateway_spool_damaged_bytes_total", "counter", "Bytes of spool files found damaged (torn, corrupt, zero-filled, not segments), skipped.").Sample(spool.DamagedBytes);
            w.Family("polymur_gateway_spool_write_failures_total", "counter", "Spool writes the disk refused (ENOSPC, EIO, EACCES).").Sample(spool.WriteFailures);
            w.Family("polymur_gateway_spool_fsync_failures_total", "counter", "Spool fsyncs that failed; what they covered was written again to a new segment.").Sample(spool.FsyncFailures);
            w.Family("polymur_gateway_spool_lost_points_total", "counter", "Spooled points that could not be made durable after a failed fsync (also dropped as spool_corrupt).").Sample(spool.LostPoints);
            w.Family("polymur_gateway_spool_held_files", "gauge", "Spool files kept but not replayed now: unreadable, undeletable, not segments (polymur-gateway spool list).").Sample(spool.HeldFiles);
            w.Family("polymur_gateway_spool_errors_total", "counter", "Unexpected errors the spool caught, counted and carried on from.").Sample(spool.Errors);
        }
        if (s.Tls is { } tls)
        {
            w.Family("polymur_gateway_tls_certificate_expiry_timestamp_seconds", "gauge", "When the HTTPS listener's certificate expires, since the Unix epoch.")
                .Sample(new DateTimeOffset(tls.NotAfter, TimeSpan.Zero).ToUnixTimeSeconds());
            w.Family("polymur_gateway_tls_certificate_reloads_total", "counter", "Certificate reloads (SIGHUP or changed -cert/-key files), by result.")
                .Sample(tls.Reloads, ("result", "ok"))
                .Sample(tls.ReloadFailures, ("result", "failed"));
        }
        w.Family("polymur_gateway_connections", "gauge", "Ingest connections open.").Sample(s.Connections.Open);
        w.Family("polymur_gateway_connections_limit", "gauge", "-max-connections.").Sample(s.Connections.Limit);
        w.Family("polymur_gateway_connections_closed_total", "counter", "Ingest connections the gateway closed, by reason.")
            .Sample(s.Connections.Evicted, ("reason", "evicted"))
            .Sample(s.Connections.Refused, ("reason", "refused"))
            .Sample(s.Connections.TimedOut, ("reason", "first_request_timeout"));
        if (s.Plaintext is { } tcp)
        {
            w.Family("polymur_gateway_tcp_connections", "gauge", "Plaintext listener connections open.").Sample(tcp.Open);
            w.Family("polymur_gateway_tcp_connections_limit", "gauge", "-tcp-max-connections.").Sample(tcp.Limit);
            w.Family("polymur_gateway_tcp_connections_stalled", "gauge", "Plaintext connections not reading now: the gateway cannot take their lines yet.").Sample(tcp.StalledNow);
            w.Family("polymur_gateway_tcp_connections_total", "counter", "Plaintext connections, by what became of them at accept.")
                .Sample(tcp.Accepted, ("result", "accepted"))
                .Sample(tcp.Refused, ("result", "refused"));
            w.Family("polymur_gateway_tcp_evicted_total", "counter", "Idle plaintext connections closed to make room for a new one at -tcp-max-connections.").Sample(tcp.Evicted);
            w.Family("polymur_gateway_tcp_idle_closed_total", "counter", "Plaintext connections closed after -tcp-idle-timeout.").Sample(tcp.IdleClosed);
            w.Family("polymur_gateway_tcp_stalls_total", "counter", "Times a plaintext connection stopped reading (over 20 ms) because the gateway could not take its lines; counted when it reads again.").Sample(tcp.Stalls);
            w.Family("polymur_gateway_tcp_stalled_seconds_total", "counter", "Time plaintext connections spent not reading, summed over connections.").Sample(tcp.StalledSeconds);
            w.Family("polymur_gateway_tcp_partial_lines_dropped_total", "counter", "Unfinished last lines (no LF) dropped when their connection ended (closed, idle, evicted, reset or stopped), as carbon does.").Sample(tcp.PartialLinesDropped);
            w.Family("polymur_gateway_tcp_lines_lost_at_stop_total", "counter", "Lines read but not queued within -drain-timeout of the stop.").Sample(tcp.LinesLostAtStop);
        }
        w.Family("polymur_gateway_buffer_pool_retained_bytes", "gauge", "Batch buffers kept for reuse.").Sample(s.Buffers.RetainedBytes);
        w.Family("polymur_gateway_buffer_pool_retained_limit_bytes", "gauge", "Cap on batch buffers kept for reuse.").Sample(s.Buffers.RetainedLimitBytes);
        w.Family("polymur_gateway_buffer_pool_allocations_total", "counter", "Batch buffers the pool had to allocate.").Sample(s.Buffers.Allocations);

        w.Family("process_start_time_seconds", "gauge", "Start time of the process since the Unix epoch in seconds.").Sample(s.StartTime.ToUnixTimeMilliseconds() / 1000.0);
        w.Family("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.").Sample(s.Runtime.CpuSeconds);
        w.Family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.").Sample(s.Runtime.WorkingSetBytes);
        w.Family("process_threads", "gauge", "Operating system threads.").Sample(s.Runtime.Threads);
        w.Family("dotnet_gc_heap_size_bytes", "gauge", "Managed heap size after the last collection.").Sample(s.Runtime.GcHeapSizeBytes);
        w.Family("dotnet_gc_committed_bytes", "gauge", "Memory committed by the garbage collector.").Sample(s.Runtime.GcCommittedBytes);
        var generations = w.Family("dotnet_gc_generation_size_bytes", "gauge", "Size of each generation after the last collection.");
        foreach (var (generation, bytes) in s.Runtime.GcGenerationSizeBytes)
            generations.Sample(bytes, ("generation", generation));
        w.Family("dotnet_gc_allocated_bytes_total", "counter", "Bytes allocated on the managed heap.").Sample(s.Runtime.TotalAllocatedBytes);
        w.Family("dotnet_gc_collections_total", "counter", "Garbage collections, by generation.")
            .Sample(s.Runtime.Gen0Collections, ("generation", "0"))
            .Sample(s.Runtime.Gen1Collections, ("generation", "1"))
            .Sample(s.Runtime.Gen2Collections, ("generation", "2"));
        w.Family("dotnet_gc_pause_seconds_total", "counter", "Time the garbage collector paused the process.").Sample(s.Runtime.GcPauseSeconds);
        yield return w.Take();
    }

    // One series per tenant and figure: the count of series follows the key set (see -tenant-grace).
    private static IEnumerable<string> WriteTenants(Writer w, TenantStats[] tenants)
    {
        w.Family("polymur_gateway_tenants", "gauge", "Tenants: valid key names, and names removed less than -tenant-grace ago.").Sample(tenants.Length);
        var families = new (string Name, string Type, string Help, Action<Writer, TenantStats> Samples)[]
        {
            ("polymur_gateway_tenant_batches_accepted_total", "counter", "A tenant's batches answered 200.",
                (w, t) => w.Sample(t.BatchesAccepted, ("tenant", t.Name))),
            ("polymur_gateway_tenant_points_total", "counter", "A tenant's lines in accepted batches, by result.",
                (w, t) => w.Sample(t.PointsAccepted, ("tenant", t.Name), ("result", "accepted"))
                    .Sample(t.PointsInvalid, ("tenant", t.Name), ("result", "invalid"))
                    .Sample(t.PointsTooLong, ("tenant", t.Name), ("result", "too_long"))),
            ("polymur_gateway_tenant_bytes_total", "counter", "Bytes of a tenant's batches read, as sent (gzip) and inflated.",
                (w, t) => w.Sample(t.BytesCompressed, ("tenant", t.Name), ("form", "compressed"))
                    .Sample(t.BytesDecompressed, ("tenant", t.Name), ("form", "decompressed"))),
            ("polymur_gateway_tenant_batches_refused_total", "counter", "A tenant's requests refused, by HTTP status.",
                (w, t) =>
                {
                    foreach (var (status, count) in t.Refused.All())
                        w.Sample(count, ("tenant", t.Name), ("status", status));
                }),
            ("polymur_gateway_tenant_last_batch_timestamp_seconds", "gauge", "When a tenant's last batch was accepted (0: never).",
                (w, t) => w.Sample(t.LastBatch is { } at ? at.ToUnixTimeMilliseconds() / 1000.0 : 0, ("tenant", t.Name))),
            ("polymur_gateway_tenant_inflight_batches", "gauge", "A tenant's batches being read, queued or written.",
                (w, t) => w.Sample(t.Inflight, ("tenant", t.Name))),
            ("polymur_gateway_tenant_inflight_batches_limit", "gauge", "-tenant-max-inflight.",
                (w, t) => w.Sample(t.InflightLimit, ("tenant", t.Name))),
            ("polymur_gateway_tenant_rate_limit_points_per_second", "gauge", "The points per second this gateway lets a tenant send (0: no limit).",
                (w, t) => w.Sample(t.Limit.EnforcedRate, ("tenant", t.Name))),
        };
        foreach (var (name, type, help, samples) in families)
        {
            w.Family(name, type, help);
            foreach (var t in tenants)
            {
                samples(w, t);
                if (w.Full)
                    yield return w.Take();
            }
        }
    }

    private sealed class Writer
    {
        private readonly StringBuilder _sb = new();
        private string _name = "";

        public Writer Family(string name, string type, string help)
        {
            _name = name;
            _sb.Append("# HELP ").Append(name).Append(' ').Append(help.Replace("\\", "\\\\").Replace("\n", "\\n")).Append('\n');
            _sb.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
            return this;
        }

        /// <summary>A family with one sample per destination, labelled by its name.</summary>
        public void PerDestination(StatsSnapshot s, string name, string type, string help, Func<DestinationStats, double> value)
        {
            Family(name, type, help);
            foreach (var d in s.Destinations)
                Sample(value(d), ("destination", d.Name));
        }

        public Writer Sample(double value, params ReadOnlySpan<(string Name, string Value)> labels)
        {
            _sb.Append(_name);
            if (labels.Length > 0)
            {
                _sb.Append('{');
                for (int i = 0; i < labels.Length; i++)
                {
                    if (i > 0)
                        _sb.Append(',');
                    _sb.Append(labels[i].Name).Append("=\"").Append(Escape(labels[i].Value)).Append('"');
                }
                _sb.Append('}');
            }
            _sb.Append(CultureInfo.InvariantCulture, $" {value:R}\n");
            return this;
        }

        /// <summary>A sample of one of the family's series, named by the family and a suffix (a histogram's _bucket, _sum, _count).</summary>
        public Writer Sample(string suffix, double value, params ReadOnlySpan<(string Name, string Value)> labels)
        {
            string family = _name;
            _name = family + suffix;
            Sample(value, labels);
            _name = family;
            return this;
        }

        private static string Escape(string value) => value.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n");

        /// <summary>How much is written before a chunk is handed out.</summary>
        public const int ChunkChars = 32 * 1024;

        public bool Full => _sb.Length >= ChunkChars;

        /// <summary>What was written since the last take.</summary>
        public string Take()
        {
            string chunk = _sb.ToString();
            _sb.Clear();
            return chunk;
        }
    }
}
