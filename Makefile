# GNU Makefile: mingw-w64 gcc, as a cross build on Linux or natively under
# MSYS2. Its twin for MSVC is Makefile.nmake; both put the same files in build/.
#
#   make              set up the toolchain if needed, build everything, then
#                     run the side-by-side comparison of the echo steps
#   make all          only build
#   make 04_select    build one step (likewise client, run_tests, 10_game_server)
#   make test         build, then run the test suite (under Wine on Linux)
#   make compare      run the comparison (client.exe compare; results in build/)
#   make handout STEP=04_select   the step as an assignment, in build/handouts/
#   make handouts     every step's handout, each compiled: they must all build
#   make clean
#
# Missing tools are installed by tools/setup.sh (Debian/Ubuntu), called from
# here: nobody has to run it by hand.

CC      := x86_64-w64-mingw32-gcc
CFLAGS  := -std=c11 -O2 -g -Wall -Wextra -Werror -DWIN32_LEAN_AND_MEAN -D_WIN32_WINNT=0x0601
LDLIBS  := -lws2_32 -lmswsock
BUILD   := build
RUN     := tools/wine-run.sh

STEPS   := 01_blocking 02_thread_per_client 03_nonblocking 04_select 05_wsaasyncselect \
           06_wsaeventselect 07_overlapped_event 08_overlapped_callback 09_iocp 10_game_server
# Steps not written yet are skipped, so the tree builds at every commit.
PRESENT := $(foreach s,$(STEPS),$(if $(wildcard $(s)/*.c),$(s)))
PROGS   := $(PRESENT) client run_tests handout_tool

.PHONY: default all test compare handout handouts clean toolchain check-lab sync-lab $(PROGS)
default: all compare
all: $(PROGS)

$(foreach p,$(PRESENT) client,$(eval $(p): $(BUILD)/$(p).exe))
run_tests: $(BUILD)/run_tests.exe
handout_tool: $(BUILD)/handout.exe

# the game client and the stress test speak step 10's protocol.h, and so
# do the test driver's cases for step 10
$(BUILD)/client.exe: 10_game_server/protocol.h
$(BUILD)/run_tests.exe: 10_game_server/protocol.h

toolchain:
	@tools/setup.sh

.SECONDEXPANSION:
$(BUILD)/%.exe: $$(wildcard %/*.c %/*.h) | toolchain
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS) -o $@ $(filter %.c,$^) $(LDLIBS)

$(BUILD)/run_tests.exe: $(wildcard tests/*.c tests/*.h) | toolchain
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS) -o $@ $(filter %.c,$^) $(LDLIBS)

$(BUILD)/handout.exe: tools/handout.c | toolchain
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS) -o $@ $< $(LDLIBS)

# make handout STEP=04_select [OUT=dir]: the step with its solution regions
# replaced by TODOs, ready to hand out (default OUT: build/handouts).
OUT := $(BUILD)/handouts
handout: $(BUILD)/handout.exe
	@test -n "$(STEP)" || { echo "usage: make handout STEP=04_select [OUT=dir]"; exit 2; }
	@$(RUN) $(BUILD)/handout.exe $(STEP) $(OUT)

# make handouts: the instructor's check of the assignments. Every step with
# solution regions is handed out into OUT/NN_name/ and compiled, with the
# flags above, into OUT/NN_name.exe; a handout that does not build fails
# make. (It is meant to fail the step's tests: run_tests.exe --only
# NN_name --exe OUT/NN_name.exe shows what is left to write.)
HANDOUT_STEPS := $(foreach s,$(PRESENT),$(if $(shell grep -l "SOLUTION BEGIN" $(wildcard $(s)/*.c $(s)/*.h)),$(s)))
HANDOUT_EXES  := $(HANDOUT_STEPS:%=$(OUT)/%.exe)
handouts: $(HANDOUT_EXES)

# The folder is made afresh (a file gone from the step must not linger);
# the shell expands its *.c when the compile line runs, after handout.exe.
$(HANDOUT_EXES): $(OUT)/%.exe: $$(wildcard %/*.c %/*.h) $(BUILD)/handout.exe | toolchain
	@rm -rf $(OUT)/$*
	@$(RUN) $(BUILD)/handout.exe $* $(OUT)
	$(CC) $(CFLAGS) -o $@ $(OUT)/$*/*.c $(LDLIBS)

# Every step folder carries a byte-for-byte copy of tools/lab.h.
LAB_COPIES := $(foreach s,$(filter-out 10_game_server,$(PRESENT)),$(s)/lab.h)
check-lab:
	@for f in $(LAB_COPIES); do cmp -s tools/lab.h $$f || { echo "$$f differs from tools/lab.h (run make sync-lab)"; exit 1; }; done
sync-lab:
	@for f in $(LAB_COPIES); do cp tools/lab.h $$f; done

test: all check-lab handouts
	@$(RUN) $(BUILD)/run_tests.exe

# Linux only: the native tools (tools/native_echo.c, the epoll echo server
# compare adds as a row; tools/native_bench.c, a native generator), built
# with the host's C compiler when there is one; not Windows programs.
ifeq ($(shell uname -s),Linux)
HOST_CC := $(shell command -v cc || command -v gcc)
ifneq ($(HOST_CC),)
NATIVE_TOOLS := $(BUILD)/native_echo $(BUILD)/native_bench
all: $(NATIVE_TOOLS)
$(NATIVE_TOOLS): $(BUILD)/%: tools/%.c
	@mkdir -p $(BUILD)
	$(HOST_CC) -std=gnu11 -O2 -Wall -Wextra -Werror -o $@ $< -lpthread
endif
endif

# Options go through COMPARE, e.g. make compare COMPARE="--steps 4,9 -d 2"
COMPARE :=
compare: all
	@$(RUN) $(BUILD)/client.exe compare $(COMPARE)

clean:
	rm -rf $(BUILD)
