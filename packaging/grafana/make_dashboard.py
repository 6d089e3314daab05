#!/usr/bin/env python3
"""Writes polymur-gateway.json, the Grafana dashboard for the gateway's /metrics. Edit the panels here, then run
it; Gateway.Tests/Telemetry/DashboardTests.cs runs every panel's expression through a real Prometheus."""
import json, os

SEL = '{instance=~"$instance"}'
RATE = '[$__rate_interval]'

ACCEPTED = '{instance=~"$instance",result="accepted"}'
INVALID = '{instance=~"$instance",result=~"invalid|too_long"}'

PANELS = [
    ('Ingest', [
        ('Points in / s', 'short', [
            ('received', f'sum(rate(polymur_gateway_points_received_total{SEL}{RATE}))'),
            ('invalid', f'sum(rate(polymur_gateway_points_invalid_total{SEL}{RATE}))'),
        ]),
        ('Batches / s, accepted and refused by status', 'short', [
            ('accepted', f'sum(rate(polymur_gateway_batches_accepted_total{SEL}{RATE}))'),
            ('refused {{status}}', f'sum by (status) (rate(polymur_gateway_batches_refused_total{SEL}{RATE}))'),
        ]),
        ('/ingest latency', 's', [
            ('p50', f'histogram_quantile(0.5, sum by (le) (rate(polymur_gateway_ingest_request_duration_seconds_bucket{SEL}{RATE})))'),
            ('p99', f'histogram_quantile(0.99, sum by (le) (rate(polymur_gateway_ingest_request_duration_seconds_bucket{SEL}{RATE})))'),
        ]),
    ]),
    ('Destinations', [
        ('Delivered / s by destination', 'short', [
            ('{{destination}}', f'sum by (destination) (rate(polymur_gateway_points_delivered_total{SEL}{RATE}))'),
        ]),
        ('Dropped / s by destination and reason', 'short', [
            ('{{destination}} {{reason}}', f'sum by (destination, reason) (rate(polymur_gateway_points_dropped_total{SEL}{RATE}))'),
        ]),
        ('Connected (1) or down (0)', 'short', [
            ('{{destination}}', f'max by (destination) (polymur_gateway_destination_connected{SEL})'),
        ]),
        ('Queue fill', 'percentunit', [
            ('{{destination}}', f'max by (destination) (polymur_gateway_points_queued{SEL} / polymur_gateway_queue_capacity_points{SEL})'),
        ]),
    ]),
    ('Spool', [
        ('Spooled points waiting', 'short', [
            ('{{destination}}', f'sum by (destination) (polymur_gateway_spool_pending_points{SEL})'),
        ]),
        ('Spool on disk', 'bytes', [
            ('{{destination}}', f'sum by (destination) (polymur_gateway_spool_bytes{SEL})'),
            ('all, limit', f'max(polymur_gateway_spool_limit_bytes{SEL})'),
        ]),
        ('Oldest spooled point', 's', [
            ('{{destination}}', f'max by (destination) (polymur_gateway_spool_oldest_age_seconds{SEL})'),
        ]),
    ]),
    ('Tenants', [
        ('Busiest tenants, points / s', 'short', [
            ('{{tenant}}', f'topk(10, sum by (tenant) (rate(polymur_gateway_tenant_points_total{ACCEPTED}{RATE})))'),
        ]),
        ('Invalid share by tenant', 'percentunit', [
            ('{{tenant}}', f'sum by (tenant) (rate(polymur_gateway_tenant_points_total{INVALID}{RATE})) / sum by (tenant) (rate(polymur_gateway_tenant_points_total{SEL}{RATE}))'),
        ]),
        ('Refused / s by tenant and status', 'short', [
            ('{{tenant}} {{status}}', f'sum by (tenant, status) (rate(polymur_gateway_tenant_batches_refused_total{SEL}{RATE}))'),
        ]),
        ('Batches in flight by tenant', 'short', [
            ('{{tenant}}', f'topk(10, sum by (tenant) (polymur_gateway_tenant_inflight_batches{SEL}))'),
        ]),
    ]),
    ('Process', [
        ('Memory', 'bytes', [
            ('resident', f'max(process_resident_memory_bytes{SEL})'),
            ('GC heap', f'max(dotnet_gc_heap_size_bytes{SEL})'),
            ('batch buffers', f'max(polymur_gateway_batch_memory_bytes{SEL})'),
            ('batch buffer limit', f'max(polymur_gateway_batch_memory_limit_bytes{SEL})'),
        ]),
        ('GC', 'short', [
            ('collections / s, gen {{generation}}', f'sum by (generation) (rate(dotnet_gc_collections_total{SEL}{RATE}))'),
            ('share of time paused', f'sum(rate(dotnet_gc_pause_seconds_total{SEL}{RATE}))'),
        ]),
        ('CPU (cores)', 'short', [
            ('cpu', f'sum(rate(process_cpu_seconds_total{SEL}{RATE}))'),
        ]),
        ('Connections', 'short', [
            ('HTTP(S) open', f'sum(polymur_gateway_connections{SEL})'),
            ('plaintext open', f'sum(polymur_gateway_tcp_connections{SEL})'),
            ('plaintext stalled', f'sum(polymur_gateway_tcp_connections_stalled{SEL})'),
        ]),
    ]),
]

def dashboard():
    panels, y, pid = [], 0, 1
    for row, items in PANELS:
        panels.append({'type': 'row', 'title': row, 'id': pid, 'collapsed': False, 'gridPos': {'h': 1, 'w': 24, 'x': 0, 'y': y}, 'panels': []})
        pid += 1
        y += 1
        for i, (title, unit, targets) in enumerate(items):
            w = 24 // min(len(items), 3)
            panels.append({
                'type': 'timeseries', 'title': title, 'id': pid,
                'datasource': {'type': 'prometheus', 'uid': '${datasource}'},
                'gridPos': {'h': 8, 'w': w, 'x': (i % 3) * w, 'y': y + (i // 3) * 8},
                'fieldConfig': {'defaults': {'unit': unit}, 'overrides': []},
                'options': {'legend': {'displayMode': 'list', 'placement': 'bottom'}, 'tooltip': {'mode': 'multi'}},
                'targets': [{'refId': chr(65 + j), 'expr': expr, 'legendFormat': legend,
                             'datasource': {'type': 'prometheus', 'uid': '${datasource}'}} for j, (legend, expr) in enumerate(targets)],
            })
            pid += 1
        y += 8 * ((len(items) + 2) // 3)
    return {
        'title': 'polymur-gateway', 'uid': 'polymur-gateway', 'schemaVersion': 39, 'version': 1, 'editable': True,
        'tags': ['graphite', 'polymur'], 'time': {'from': 'now-1h', 'to': 'now'}, 'refresh': '10s',
        'templating': {'list': [
            {'name': 'datasource', 'type': 'datasource', 'query': 'prometheus', 'label': 'Prometheus'},
            {'name': 'instance', 'type': 'query', 'label': 'gateway', 'includeAll': True, 'multi': True, 'allValue': '.*',
             'datasource': {'type': 'prometheus', 'uid': '${datasource}'},
             'query': {'query': 'label_values(polymur_gateway_points_received_total, instance)', 'refId': 'instance'},
             'definition': 'label_values(polymur_gateway_points_received_total, instance)', 'refresh': 2},
        ]},
        'panels': panels,
    }

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'polymur-gateway.json'), 'w') as f:
    json.dump(dashboard(), f, indent=2)
    f.write('\n')
