# polymur-gateway: every command a newcomer or CI needs. See README.md.
SHELL := /bin/bash
DOTNET ?= dotnet
RID ?= linux-x64
PUBLISH_DIR := artifacts/publish
BINARY := $(PUBLISH_DIR)/polymur-gateway
RUN_PORT ?= 8080

.PHONY: all build build-deps publish test run clean bench consul test-deps deb test-packaging packaging-deps image test-image image-deps bench-deps soak fuzz test-faults test-hostile demo demo-deps

all: build

build:
	$(DOTNET) build polymur-gateway.sln -c Release --nologo -v quiet

# One self-contained NativeAOT file. Trim/AOT warnings are errors (Gateway.csproj), so this fails on any.
publish: build-deps
	$(DOTNET) publish Gateway/Gateway.csproj -c Release -r $(RID) -o $(PUBLISH_DIR) --nologo
	@rm -f $(PUBLISH_DIR)/*.dbg $(PUBLISH_DIR)/*.json
	@ls -l $(BINARY)

# libdeflate's static library is linked into the binary (and its shared one serves the JIT-run tests).
build-deps:
	@[ -e /usr/lib/x86_64-linux-gnu/libdeflate.a ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libdeflate-dev; }

# A real Consul agent for the key tests (Debian bullseye's consul, fetched with apt into .cache/).
consul:
	scripts/fetch-consul.sh

# Debian packages the tests use: Prometheus' own parser checks /metrics; a real carbon-cache (and whisper-fetch)
# checks the line grammar. The package's own carbon-cache service is not started (no systemd in CI).
TEST_PACKAGES := python3-prometheus-client graphite-carbon carbon-c-relay man-db tmux prometheus iptables nghttp2-client curl
test-deps:
	@dpkg -s $(TEST_PACKAGES) >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(TEST_PACKAGES); }

# Restores, builds and runs every test, including the smoke test of the published binary.
test: publish consul test-deps
	$(DOTNET) build Gateway.Tests/Gateway.Tests.csproj -c Debug --nologo -v quiet
	$(DOTNET) test --project Gateway.Tests/Gateway.Tests.csproj -c Debug --no-build --timeout 30m --minimum-expected-tests 100

# A dev gateway on 127.0.0.1:$(RUN_PORT): key 123, lines printed to stdout, logs on stderr.
run:
	$(DOTNET) run --project Gateway/Gateway.csproj -c Release -- -dev-mode -console-out -listen-addr 127.0.0.1 -listen-http-port $(RUN_PORT)

clean:
	rm -rf artifacts Gateway/bin Gateway/obj Gateway.Tests/bin Gateway.Tests/obj TestResults

# The Debian package: artifacts/polymur-gateway_<version>_amd64.deb (version from Directory.Build.props).
deb: publish
	scripts/build-deb.sh

# Builds the .deb and checks it as root: lintian, exposure score, install, run as the polymur user, purge.
test-packaging: publish packaging-deps
	scripts/test-packaging.sh

packaging-deps:
	@command -v lintian >/dev/null && command -v curl >/dev/null && command -v man >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq lintian curl man-db; }

# The distroless image as an OCI archive (docker when an engine runs, else buildah FROM scratch).
image: publish image-deps
	scripts/build-image.sh

# Unpacks the image with umoci and runs it as its non-root user (root: chroot, bind mount).
test-image: image
	scripts/test-image.sh

image-deps:
	@command -v buildah >/dev/null && command -v umoci >/dev/null && command -v skopeo >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq buildah umoci skopeo; }

# 10 minutes at about half the benchmark's throughput, a destination flapping every minute, the key regenerated
# every 2 minutes in a real Consul; RSS, threads and files sampled every 5 s; the accounting identity checked.
SOAK_MINUTES ?= 10
# SOAK_SPOOL=1 runs it with -spool-dir on (a fresh directory, replay at twice SOAK_RATE): then nothing may be dropped.
# One core must carry the load and its replay: SOAK_SPOOL=1 SOAK_RATE=2000000 on this 2-core machine.
SOAK_RATE ?= 6000000
soak: publish consul
	$(DOTNET) build bench/BenchTools -c Release -v quiet --nologo
	@spool=$(if $(SOAK_SPOOL),$$(mktemp -d /tmp/pgw-soak-spool.XXXXXX)); \
	  taskset -c 1 bench/BenchTools/bin/Release/net10.0/BenchTools soak artifacts/publish/polymur-gateway .cache/consul/usr/bin/consul $(SOAK_MINUTES) $(SOAK_RATE) $$spool; \
	  rc=$$?; [ -z "$$spool" ] || rm -rf "$$spool"; exit $$rc   # a failed soak can leave GBs spooled

# Coverage-guided fuzzing of the parser and the gzip path (AFL++ and SharpFuzz), both targets side by side for FUZZ_SECONDS.
fuzz:
	scripts/fuzz.sh

# Faults under load (destination killed, stalled, resetting; Consul killed or frozen; SIGTERM, SIGKILL; full disk).
test-faults: publish consul
	$(DOTNET) build Gateway.Tests/Gateway.Tests.csproj -c Debug --nologo -v quiet
	$(DOTNET) test --project Gateway.Tests/Gateway.Tests.csproj -c Debug --no-build --treenode-filter "/*/*/*/*[Category=faults]"

# 10,000 generated hostile requests, slow loris and an HTTP/2 stream flood against the native binary.
test-hostile: publish
	$(DOTNET) build Gateway.Tests/Gateway.Tests.csproj -c Debug --nologo -v quiet
	$(DOTNET) test --project Gateway.Tests/Gateway.Tests.csproj -c Debug --no-build --treenode-filter "/*/*/*/*[Category=hostile]"

# Throughput and CPU cost per metric of the published binary (wrk drives it; installed when missing). See BENCHMARKS.md.
bench: publish bench-deps consul
	bench/run.sh $(BENCH_SECONDS)
	bench/tenants.sh

# A real carbon-cache restarted under load, with and without the spool: demo-carbon-restart.png, in the README.
demo: publish demo-deps
	/usr/bin/python3 scripts/demo.py   # the system Python, where apt puts matplotlib

demo-deps:
	@command -v carbon-cache >/dev/null && command -v whisper-fetch >/dev/null && /usr/bin/python3 -c 'import matplotlib' 2>/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphite-carbon python3-matplotlib; }

bench-deps:
	@command -v wrk >/dev/null && command -v h2load >/dev/null && command -v curl >/dev/null && command -v openssl >/dev/null && command -v carbon-c-relay >/dev/null && [ -e /usr/lib/x86_64-linux-gnu/libdeflate.so.0 ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk nghttp2-client curl openssl carbon-c-relay libdeflate0; }
