# stickyform — one Makefile for building, testing, the demo and benchmarks.
SHELL      := /bin/bash
GO         ?= go
VERSION    ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS    := -s -w -X github.com/stickyform/stickyform/internal/version.Version=$(VERSION)
BIN        := bin/stickyform
GOTESTFLAGS ?=

# Debian packages the tests, the demo and the benchmarks need.
DEPS_CMDS  := sshd:openssh-server ssh:openssh-client memcached:memcached nginx:nginx \
              haproxy:haproxy wrk:wrk memcaslap:libmemcached-tools chromium:chromium \
              ip:iproute2 sudo:sudo ansible-playbook:ansible /usr/bin/time:time \
              curl:curl python3:python3
export PATH := $(PATH):/usr/sbin:/sbin

.PHONY: all build test lint deps demo demo-down bench clean fuzz

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/stickyform
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)-linux-amd64 ./cmd/stickyform
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)-linux-arm64 ./cmd/stickyform

# deps installs what is missing, as root, without prompts; a no-op when
# everything is there or when not root (tests that need it then skip).
deps:
	@missing=""; for pair in $(DEPS_CMDS); do cmd=$${pair%%:*}; pkg=$${pair##*:}; \
	  command -v $$cmd >/dev/null 2>&1 || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else echo "not root: cannot install$$missing (tests that need them will skip)"; fi; \
	fi

# fuzz runs the config loader's and the cache protocol's fuzz targets for
# FUZZTIME each (their seed corpora in */testdata/fuzz run under plain go
# test as well).
FUZZTIME ?= 60s
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzLoad -fuzztime $(FUZZTIME) -parallel 1 ./hclspec
	$(GO) test -run '^$$' -fuzz FuzzProtocol -fuzztime $(FUZZTIME) -fuzzminimizetime 5s -parallel 1 ./agents/cache

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# The full log stays in the clone (bin/, ignored): a shared /tmp path would
# be overwritten by another checkout's run and corrupt the summary line.
TESTLOG    ?= bin/test.log
test: deps lint build
	@echo "go test -race -count=1 ./... (log: $(TESTLOG))"
	@mkdir -p $(dir $(TESTLOG)); $(GO) test -race -count=1 -timeout 25m $(GOTESTFLAGS) ./... 2>&1 | tee $(TESTLOG) | grep -v '^=== \|^--- PASS\|^PASS$$'; \
	status=$${PIPESTATUS[0]}; \
	pass=$$(grep -c '^ok ' $(TESTLOG)); fail=$$(grep -c '^FAIL\s' $(TESTLOG)); \
	echo "packages: $$pass passed, $$fail failed"; exit $$status

# bench runs every benchmark in bench/ and prints one table (bench/run).
bench: deps build
	bench/run

# demo makes the 3-host lab on this machine, applies examples/classic and
# proves failover on it; a second run changes nothing. demo-down undoes it.
demo: deps build
	$(BIN) lab up
	$(BIN) -chdir=examples/classic apply -auto-approve
	@echo; echo "Demo page: http://172.25.1.2/  (add an attribute, cut its host, reload: README \"What the demo shows\")"; echo
	$(BIN) -chdir=examples/classic verify

demo-down: build
	-$(BIN) -chdir=examples/classic destroy -auto-approve
	$(BIN) lab down

clean:
	rm -rf bin
