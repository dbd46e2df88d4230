# The two commands of the quick start: `make run` and `make test`.
# Both set everything up on a fresh Debian 12 machine (root, registries reachable).

PY         ?= python3
VENV       := .venv
BIN        := $(VENV)/bin
STAMP      := $(VENV)/.installed
# Debian packages the build needs: C compiler and Python headers (native module, evdev),
# PC/SC headers (pyscard), libusb (pyusb printers and scanners).
DEBS       := python3-venv python3-dev gcc libpcsclite-dev libusb-1.0-0
# ... and those only the tests need: clang with libFuzzer (TLV fuzz run), pcscd with the
# virtual reader driver (card readers, emulated cards), a CJK font (receipt images),
# systemd-analyze (the service unit is verified and its exposure rated), tmux (the console
# in a real terminal), chromium (head office's receipt page drawn by a real browser),
# postgresql-15 (head office tested on a real PostgreSQL; hq/pg_cluster.py starts it),
# mtools, dosfstools, fdisk (flashing and provisioning disk images).
TEST_DEBS  := clang libclang-rt-14-dev pcscd vsmartcard-vpcd fonts-wqy-microhei systemd tmux chromium postgresql-15 \
              mtools dosfstools fdisk
# ... and those the device image build needs (`make image`, and the suite's image test):
# mmdebstrap, the filesystem and partition tools, xz, and kmod (depmod indexes the Pi kernel's
# compressed modules); qemu and binfmt support build the arm64 image on another machine.
IMAGE_DEBS := mmdebstrap e2fsprogs dosfstools mtools fdisk xz-utils kmod
IMAGE_FOREIGN_DEBS := qemu-user-static binfmt-support
BOARD      ?= amd64
THROWAWAY_KEY := build/throwaway-signing-key.pem
NATIVE_SRC := $(wildcard native/*.c native/*.h) native/build.py setup.py
FUZZ_SECONDS ?= 300

.PHONY: run test setup system test-system image image-system native-asan fuzz bench clean

# The till on simulated devices with the demo catalog, and a head office of its own
# (SQLite, var/hq.sqlite) it syncs with; quitting the till stops both. `appliance demo`
# prints a scripted shop day instead.
run: setup
	$(BIN)/python -m hq.local

# APPLIANCE_REQUIRE_NATIVE: the suite fails if the C module did not build, instead of
# quietly testing the Python twin twice.
test: setup test-system
	APPLIANCE_REQUIRE_NATIVE=1 $(BIN)/python -m pytest

# The native tests again, against a build with AddressSanitizer + UndefinedBehaviorSanitizer.
native-asan: setup
	rm -rf build/asan && mkdir -p build
	POS_NATIVE_SANITIZE=1 $(BIN)/python native/build.py build/asan > build/asan.log 2>&1 || (cat build/asan.log; exit 1)
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	LD_PRELOAD="$$(gcc -print-file-name=libasan.so) $$(gcc -print-file-name=libubsan.so)" \
	APPLIANCE_NATIVE_LIB="$$(ls build/asan/appliance/_native*.so)" APPLIANCE_REQUIRE_NATIVE=1 \
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/test_native.py tests/test_native_differential.py tests/test_basket.py

# A long libFuzzer run of the C TLV decoder (the suite runs it for a few seconds).
fuzz: setup test-system
	$(BIN)/python native/fuzz/run.py --seconds $(FUZZ_SECONDS)

bench: setup
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python bench/sale.py
	$(BIN)/python bench/native.py
	$(BIN)/python bench/card.py
	$(BIN)/python bench/reports.py
	$(BIN)/python bench/daemon.py
	$(BIN)/python bench/sync.py
	$(BIN)/python bench/sync_drain.py
	$(BIN)/python bench/backoffice_pages.py

setup: $(STAMP)

$(STAMP): pyproject.toml $(NATIVE_SRC)
	@$(MAKE) --no-print-directory system
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,board]'
	@touch $@

# Install Debian packages only when something is missing, so a ready machine needs no root.
system:
	@missing=""; \
	if ! $(PY) -c 'import ensurepip, venv, sysconfig, os; assert os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h"))' 2>/dev/null \
	   || ! command -v gcc >/dev/null; then missing="$(DEBS)"; fi; \
	for p in libpcsclite-dev libusb-1.0-0; do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; done; \
	$(call install,$$missing)

test-system:
	@missing=""; \
	for p in $(TEST_DEBS) $(IMAGE_DEBS); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; done; \
	$(call install,$$missing)

# The device image of BOARD (amd64, or rpi-arm64) in build/image/BOARD/ and its update bundle
# in build/bundle/BOARD/ (docs/image.md). IMAGE_KEY names the Ed25519 signing key (PEM), kept
# outside the repository; without it a throwaway key under build/ signs, and says so.
image: setup image-system
	@key="$(IMAGE_KEY)"; \
	if [ -z "$$key" ]; then \
		key=$(THROWAWAY_KEY); \
		[ -f $$key ] || $(BIN)/python -c 'from pathlib import Path; from image.manifest import new_key; \
			key = Path("$(THROWAWAY_KEY)"); key.parent.mkdir(exist_ok=True); new_key(key, key.with_suffix(".pub"))'; \
		echo "*****************************************************************************************"; \
		echo "* IMAGE_KEY is not set: this image is signed with a THROWAWAY key, $$key."; \
		echo "* Terminals flashed with it accept only updates signed with that key. Do not ship it:"; \
		echo "*     make image IMAGE_KEY=/path/outside/the/repository/signing-key.pem"; \
		echo "*****************************************************************************************"; \
	fi; \
	$(BIN)/python -m image.build --board $(BOARD) --key "$$key" --out build/image; \
	status=$$?; [ -n "$(IMAGE_KEY)" ] || echo "image: signed with the THROWAWAY key $$key (IMAGE_KEY was not set)"; exit $$status

image-system:
	@missing=""; \
	for p in $(IMAGE_DEBS) $(if $(filter rpi-arm64,$(BOARD)),$(IMAGE_FOREIGN_DEBS)); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; done; \
	$(call install,$$missing)

define install
if [ -n "$(1)" ]; then \
	if [ "$$(id -u)" != 0 ]; then echo "Need Debian packages:$(1) (run as root, or apt-get install them)"; exit 1; fi; \
	echo "Installing Debian packages:$(1)"; \
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(1); \
fi
endef

clean:
	rm -rf $(VENV) build *.egg-info appliance/_native*.so
