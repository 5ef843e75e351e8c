# GNU Makefile: mingw-w64 gcc, as a cross build on Linux or natively under
# MSYS2. Its twin for MSVC is Makefile.nmake; both put the same files in build/.
#
#   make              set up the toolchain if needed, build everything, then
#                     run the side-by-side comparison of the echo steps
#   make all          only build
#   make 04_select    build one step (likewise client, run_tests, 10_game_server)
#   make test         build, then run the test suite (under Wine on Linux)
#   make compare      run the comparison (client.exe compare; results in build/)
#   make diffs        per pair of neighbouring steps: lines changed, comment re-wraps
#   make handout STEP=04_select [LEVEL=open]   the step as an assignment that
#                     stands alone, in build/handouts/04_select/ (docs/assignments.md)
#   make handouts     every step's handout at both levels, each compiled
#   make grading      the bug variants of tests/grading/, built (grading tests)
#   make check        the house checks (tools/check_tree.c): ASCII, LF and
#                     width of the sources, the lab.h copies, every step
#                     folder built alone with its header's mingw-w64 line
#   make check-msvc   the same with the header's cl line (tools/msvc-kit.sh)
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
# The course's own programs beside step 08 (08_overlapped_callback/chat/ and
# board/): built from their subfolders by the explicit rules further down.
COURSE  := 08_chat 08_board
PROGS   += $(COURSE)

.PHONY: default all test compare handout handouts grading clean toolchain check-lab sync-lab diffs $(PROGS)
default: all compare
all: $(PROGS)

$(foreach p,$(PRESENT) client,$(eval $(p): $(BUILD)/$(p).exe))
run_tests: $(BUILD)/run_tests.exe
$(foreach p,$(COURSE),$(eval $(p): $(BUILD)/$(p).exe))
handout_tool: $(BUILD)/handout.exe

# the game client and the stress test speak step 10's protocol.h, and so
# do the test driver's cases for step 10
$(BUILD)/client.exe: 10_game_server/protocol.h
$(BUILD)/run_tests.exe: 10_game_server/protocol.h

toolchain:
	@tools/setup.sh

.SECONDEXPANSION:
$(BUILD)/%.exe: $$(wildcard $$*/*.c $$*/*.h) | toolchain
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS) -o $@ $(filter %.c,$^) $(LDLIBS)

$(BUILD)/run_tests.exe: $(wildcard tests/*.c tests/*.h) | toolchain
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS) -o $@ $(filter %.c,$^) $(LDLIBS)

$(BUILD)/08_chat.exe: $(wildcard 08_overlapped_callback/chat/*.c 08_overlapped_callback/chat/*.h) | toolchain
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS) -o $@ $(filter %.c,$^) $(LDLIBS)

$(BUILD)/08_board.exe: $(wildcard 08_overlapped_callback/board/*.c 08_overlapped_callback/board/*.h) | toolchain
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS) -o $@ $(filter %.c,$^) $(LDLIBS)

$(BUILD)/handout.exe: tools/handout.c | toolchain
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS) -o $@ $< $(LDLIBS)

$(BUILD)/stepdiff.exe: tools/stepdiff.c | toolchain
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS) -o $@ $< $(LDLIBS)

# make diffs: how far neighbouring steps drifted (tools/stepdiff.c). A diff
# of two neighbours should show the model and nothing else.
diffs: $(BUILD)/stepdiff.exe
	@$(RUN) $(BUILD)/stepdiff.exe

# make handout STEP=04_select [OUT=dir]: the step with its solution regions

# make handout STEP=04_select [LEVEL=guided|open] [OUT=dir]: the step as an
# assignment that stands alone (server.c with TODOs, lab.h, the assignment's
# text, client.exe, run_tests.exe, check.sh, check.cmd), in OUT/STEP
# (default OUT: build/handouts). Zip that folder and hand it out.
OUT := $(BUILD)/handouts
LEVEL := guided
# the folder's name: the step's, or 08_board for homework #3's board folder
HANDOUT_NAME = $(if $(filter 08_overlapped_callback/board%,$(STEP)),08_board,$(notdir $(STEP)))
handout: $(BUILD)/handout.exe $(BUILD)/client.exe $(BUILD)/run_tests.exe
	@test -n "$(STEP)" || { echo "usage: make handout STEP=04_select [LEVEL=guided|open] [OUT=dir]"; exit 2; }
	@$(RUN) $(BUILD)/handout.exe --level $(LEVEL) $(STEP) $(OUT)
	@chmod +x $(OUT)/$(HANDOUT_NAME)/check.sh 2>/dev/null || true
	@rm -f $(OUT)/$(HANDOUT_NAME).exe # make handouts: this folder is no longer its guided one

# make handouts: the instructor's check of the assignments. Every step with
# solution regions is handed out into OUT/NN_name/ (and the echo steps and
# the board at the open level into OUT/open/NN_name/) and compiled, with the flags
# above, into OUT/NN_name.exe (OUT/open/NN_name.exe); a handout that does
# not build fails make. (It is meant to fail the step's tests: the driver's
# kit checks run each folder's check script, see tests/kit_checks.c.)
HANDOUT_STEPS := $(foreach s,$(PRESENT),$(if $(shell grep -l "SOLUTION BEGIN" $(wildcard $(s)/*.c $(s)/*.h)),$(s)))
HANDOUT_EXES  := $(HANDOUT_STEPS:%=$(OUT)/%.exe)
OPEN_EXES     := $(patsubst %,$(OUT)/open/%.exe,$(filter-out 10_game_server,$(HANDOUT_STEPS)))
handouts: $(HANDOUT_EXES) $(OPEN_EXES)

# The folder is made afresh (a file gone from the step must not linger);
# the shell expands its *.c when the compile line runs, after handout.exe.
$(HANDOUT_EXES): $(OUT)/%.exe: $$(wildcard $$*/*.c $$*/*.h) $$(wildcard docs/assignments/$$*.md docs/ko/assignments/$$*.md) $(BUILD)/handout.exe $(BUILD)/client.exe $(BUILD)/run_tests.exe | toolchain
	@rm -rf $(OUT)/$*
	@$(RUN) $(BUILD)/handout.exe $* $(OUT)
	@chmod +x $(OUT)/$*/check.sh 2>/dev/null || true
	$(CC) $(CFLAGS) -o $@ $(OUT)/$*/*.c $(LDLIBS) -luser32
$(OPEN_EXES): $(OUT)/open/%.exe: $$(wildcard $$*/*.c $$*/*.h) $$(wildcard docs/assignments/$$*.md docs/ko/assignments/$$*.md) $(BUILD)/handout.exe $(BUILD)/client.exe $(BUILD)/run_tests.exe | toolchain
	@rm -rf $(OUT)/open/$*
	@$(RUN) $(BUILD)/handout.exe --level open $* $(OUT)/open
	@chmod +x $(OUT)/open/$*/check.sh 2>/dev/null || true
	$(CC) $(CFLAGS) -o $@ $(OUT)/open/$*/*.c $(LDLIBS) -luser32

# Homework #3's board (08_overlapped_callback/board/) is handed out like a
# step, under its name: OUT/08_board/ (OUT/open/08_board/), graded by its
# check script with the driver's hw3 profile (`make handout STEP=08_board`).
BOARD_SOURCES := $(wildcard 08_overlapped_callback/board/*.c 08_overlapped_callback/board/*.h) $(wildcard docs/assignments/08_board.md docs/ko/assignments/08_board.md)
BOARD_HANDOUT := $(if $(wildcard 08_overlapped_callback/board/server.c),$(OUT)/08_board.exe $(OUT)/open/08_board.exe)
handouts: $(BOARD_HANDOUT)
$(OUT)/08_board.exe: $(BOARD_SOURCES) $(BUILD)/handout.exe $(BUILD)/client.exe $(BUILD)/run_tests.exe | toolchain
	@rm -rf $(OUT)/08_board
	@$(RUN) $(BUILD)/handout.exe 08_board $(OUT)
	@chmod +x $(OUT)/08_board/check.sh 2>/dev/null || true
	$(CC) $(CFLAGS) -o $@ $(OUT)/08_board/server.c $(LDLIBS)
$(OUT)/open/08_board.exe: $(BOARD_SOURCES) $(BUILD)/handout.exe $(BUILD)/client.exe $(BUILD)/run_tests.exe | toolchain
	@rm -rf $(OUT)/open/08_board
	@$(RUN) $(BUILD)/handout.exe --level open 08_board $(OUT)/open
	@chmod +x $(OUT)/open/08_board/check.sh 2>/dev/null || true
	$(CC) $(CFLAGS) -o $@ $(OUT)/open/08_board/server.c $(LDLIBS)

# make grading: each tests/grading/NN_name/BUG.txt (a classic mistake,
# docs/mistakes.md) applied to the reference, in build/grading/NN_name/BUG/,
# and built into build/grading/NN_name/BUG.exe: submissions to grade.
VARIANTS     := $(wildcard tests/grading/*/*.txt)
VARIANT_EXES := $(patsubst tests/grading/%.txt,$(BUILD)/grading/%.exe,$(VARIANTS))
grading: $(VARIANT_EXES)
$(VARIANT_EXES): $(BUILD)/grading/%.exe: tests/grading/%.txt $$(wildcard $$(firstword $$(subst /, ,$$*))/*.c) $(BUILD)/handout.exe | toolchain
	@rm -rf $(BUILD)/grading/$*; mkdir -p $(BUILD)/grading/$*
	@$(RUN) $(BUILD)/handout.exe --variant $< $(firstword $(subst /, ,$*)) $(BUILD)/grading/$(firstword $(subst /, ,$*))/$(notdir $*) >/dev/null
	$(CC) $(CFLAGS) -o $@ $(BUILD)/grading/$*/$(firstword $(subst /, ,$*))/server.c $(LDLIBS) -luser32

# The house checks: a program of this machine (not a Windows one: it runs
# the compilers), built with the host's C compiler; on Windows (MSYS2) that
# is the mingw-w64 gcc. It prints "file:line: what" for each problem.
HOSTCC  := $(if $(filter MINGW% MSYS%,$(shell uname -s)),$(CC),cc)
CHECK   := $(BUILD)/check_tree
.PHONY: check check-msvc
$(CHECK): tools/check_tree.c | toolchain
	@mkdir -p $(BUILD)
	$(HOSTCC) -std=c11 -O2 -Wall -Wextra -Werror -o $@ $<
check: $(CHECK) | toolchain
	@$(CHECK) --cc gcc
check-msvc: $(CHECK)
	@$(CHECK) --cc cl --wrap "$(CURDIR)/tools/msvc-kit.sh"

# Every step folder carries a byte-for-byte copy of tools/lab.h: check-lab
# compares them (check_tree --lab-only, the one implementation of that).
LAB_COPIES := $(foreach s,$(filter-out 10_game_server,$(PRESENT)),$(s)/lab.h)
LAB_COPIES += 08_overlapped_callback/chat/lab.h 08_overlapped_callback/board/lab.h
# The board of homework #3 carries its own copy of step 10's protocol.h.
PROTO_COPIES := 08_overlapped_callback/board/protocol.h
# 10_game_server/common.c is no copy but shares functions with lab.h: the
# ones both define must have the same body (stepdiff --shared).
check-lab: $(CHECK) $(BUILD)/stepdiff.exe
	@$(CHECK) --lab-only
	@$(RUN) $(BUILD)/stepdiff.exe --shared tools/lab.h 10_game_server/common.c
sync-lab:
	@for f in $(LAB_COPIES); do cp tools/lab.h $$f; done
	@for f in $(PROTO_COPIES); do cp 10_game_server/protocol.h $$f; done

test: all check-lab handouts grading diffs
	@$(RUN) $(BUILD)/run_tests.exe

# Step 10's modules call down only (10_game_server/check_layers.sh reads
# the objects' symbols with nm); part of make test.
.PHONY: check-layers
check-layers: | toolchain
	@sh 10_game_server/check_layers.sh
test: check-layers
# Options go through COMPARE, e.g. make compare COMPARE="--steps 4,9 -d 2"
COMPARE :=
compare: all
	@$(RUN) $(BUILD)/client.exe compare $(COMPARE)

# Linux only: the native tools, programs of this machine and not Windows
# ones, built with the host's C compiler (tools/setup.sh installs it):
# build/native_echo (tools/native_echo.c, the epoll echo server compare adds
# as a row), build/native_bench (tools/native_bench.c, the native generator
# compare uses under Wine) and build/game_load (tools/game_load.c, the
# native load generator for 10_game_server, docs/capacity.md).
# Makefile.nmake has no such targets on purpose.
ifeq ($(shell uname -s),Linux)
NATIVE_TOOLS := $(BUILD)/native_echo $(BUILD)/native_bench $(BUILD)/game_load
all: $(NATIVE_TOOLS)
$(BUILD)/game_load: 10_game_server/protocol.h
$(NATIVE_TOOLS): $(BUILD)/%: tools/%.c | toolchain
	@mkdir -p $(BUILD)
	$(HOSTCC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -o $@ $< -lpthread
endif

clean:
	rm -rf $(BUILD)
