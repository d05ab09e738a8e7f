#include "boot/options.h"
#include "boot/bootinfo.h"
#include "boot/loader.h"
#include "vmx/vmx.h"
#include "ept/vm.h"
#include "lib/lib.h"

struct kernel_options kopts;

static const struct opt_def option_defs[] = {
	{ "tests", OPT_STRING, "tests=GLOB[,GLOB...][,-GLOB...]" },
	{ "quiet", OPT_FLAG, "quiet" },
	{ "guest_mem", OPT_SIZE, "guest_mem=N[K|M|G]" },
	{ "guest_vcpus", OPT_NUMBER, "guest_vcpus=N (1 to 8)" },
	{ "bench", OPT_FLAG, "bench" },
	{ "dump", OPT_STRING, "dump=pt|ept|inval|gpc|vcpu|all[,...]" },
	{ "on_panic", OPT_STRING, "on_panic=exit|halt" },
	{ "mmu", OPT_STRING, "mmu=auto|shadow" },
	{ "fuzz_seed", OPT_NUMBER, "fuzz_seed=N" },
	{ "fuzz_ops", OPT_NUMBER, "fuzz_ops=N (1 to 4294967295)" },
	{ "console", OPT_STRING, "console=raw|prefixed|live" },
	{ "watchdog", OPT_STRING, "watchdog=SECONDS|off" },
	{ "strict_io", OPT_FLAG, "strict_io" },
};

static const struct {
	const char *name;
	unsigned bit;
} dump_names[] = {
	{ "pt", DUMP_PT }, { "ept", DUMP_EPT }, { "inval", DUMP_INVAL },
	{ "gpc", DUMP_GPC }, { "vcpu", DUMP_VCPU }, { "all", DUMP_ALL },
};

static int parse_dump(struct kernel_options *o, const char *val, size_t len, char *err,
		      size_t errlen)
{
	for (size_t i = 0; i < len;) {
		size_t n = 0, k;

		while (i + n < len && val[i + n] != ',')
			n++;
		for (k = 0; k < ARRAY_SIZE(dump_names); k++)
			if (strlen(dump_names[k].name) == n && !strncmp(dump_names[k].name, val + i, n))
				break;
		if (k == ARRAY_SIZE(dump_names)) {
			ksnprintf(err, errlen, "unknown dump '%.*s' (pt, ept, inval, gpc, vcpu, all)",
				  (int)n, val + i);
			return 1;
		}
		o->dump |= dump_names[k].bit;
		i += n + 1;
	}
	return 0;
}

static int set_option(void *ctx, const struct opt_def *def, const char *val, size_t len,
		      uint64_t num, char *err, size_t errlen)
{
	struct kernel_options *o = ctx;

	(void)num;
	if (!strcmp(def->key, "tests")) {
		if (len >= sizeof(o->tests)) {
			ksnprintf(err, errlen, "value longer than %zu characters",
				  sizeof(o->tests) - 1);
			return 1;
		}
		memcpy(o->tests, val, len);
		o->tests[len] = '\0';
		o->have_tests = true;
	} else if (!strcmp(def->key, "quiet")) {
		o->quiet = true;
	} else if (!strcmp(def->key, "guest_mem")) {
		if (num < (2ULL << 20) || num > (4ULL << 30) || num % 4096) {
			ksnprintf(err, errlen, "%llu bytes: need a 4 KiB multiple in [2M, 4G]",
				  (unsigned long long)num);
			return 1;
		}
		o->guest_mem = num;
		o->guest_mem_given = true;
	} else if (!strcmp(def->key, "guest_vcpus")) {
		/* Whether there are CPUs for them is known only after SMP bring-up. */
		if (num < 1 || num > VM_MAX_VCPUS) {
			ksnprintf(err, errlen, "%llu vCPUs: need 1 to %u",
				  (unsigned long long)num, VM_MAX_VCPUS);
			return 1;
		}
		o->guest_vcpus = (unsigned)num;
	} else if (!strcmp(def->key, "bench")) {
		o->bench = true;
	} else if (!strcmp(def->key, "dump")) {
		return parse_dump(o, val, len, err, errlen);
	} else if (!strcmp(def->key, "mmu")) {
		/* auto: EPT or NPT where the CPU has it, else shadow paging. */
		if (len == 6 && !strncmp(val, "shadow", 6)) {
			hv_mmu_shadow = true;
		} else if (len == 4 && !strncmp(val, "auto", 4)) {
			hv_mmu_shadow = false;
		} else {
			ksnprintf(err, errlen, "'%.*s': expected auto or shadow", (int)len, val);
			return 1;
		}
	} else if (!strcmp(def->key, "fuzz_seed")) {
		o->fuzz_seed = num;
	} else if (!strcmp(def->key, "fuzz_ops")) {
		if (num < 1 || num > 0xffffffffULL) {
			ksnprintf(err, errlen, "%llu operations: need 1 to 4294967295",
				  (unsigned long long)num);
			return 1;
		}
		o->fuzz_ops = num;
	} else if (!strcmp(def->key, "console")) {
		o->console_raw = len == 3 && !strncmp(val, "raw", 3);
		o->console_live = len == 4 && !strncmp(val, "live", 4);
		if (!o->console_raw && !o->console_live && (len != 8 || strncmp(val, "prefixed", 8))) {
			ksnprintf(err, errlen, "'%.*s': expected raw, prefixed or live", (int)len, val);
			return 1;
		}
	} else if (!strcmp(def->key, "watchdog")) {
		uint64_t secs;

		if (len == 3 && !strncmp(val, "off", 3)) {
			o->watchdog_off = true;
		} else if (parse_size(val, len, &secs) || !secs || secs > 86400) {
			ksnprintf(err, errlen, "'%.*s': expected off or seconds from 1 to 86400",
				  (int)len, val);
			return 1;
		} else {
			o->watchdog_off = false;
			o->watchdog_secs = (unsigned)secs;
		}
	} else if (!strcmp(def->key, "strict_io")) {
		o->strict_io = true;
	} else if (!strcmp(def->key, "on_panic")) {
		if (len == 4 && !strncmp(val, "halt", 4)) {
			panic_halt = true;
		} else if (len == 4 && !strncmp(val, "exit", 4)) {
			panic_halt = false;
		} else {
			ksnprintf(err, errlen, "'%.*s': expected exit or halt", (int)len, val);
			return 1;
		}
	}
	return 0;
}

int options_parse(const char *line, size_t overlong, char *err, size_t errlen)
{
	kopts.guest_mem = 32ULL << 20;
	kopts.guest_vcpus = 1;
	kopts.fuzz_seed = 1;
	kopts.fuzz_ops = 0; /* the test's choice (tests/kernel/test_guest_ptfuzz.c) */
	if (overlong) {
		/* Parsing a cut-off line would act on half an option: use none of it. */
		ksnprintf(err, errlen, "the command line has %zu characters, more than the %d the "
			  "kernel takes; none of it was used", overlong, BI_CMDLINE_MAX - 1);
		return 1;
	}
	/* GRUB may pass the kernel's path first: it is not an option. */
	while (*line == ' ')
		line++;
	if (*line == '/') {
		while (*line && *line != ' ')
			line++;
	}
	return cmdline_parse(line, option_defs, ARRAY_SIZE(option_defs), set_option, &kopts, err,
			     errlen);
}
