/*
 * Exit-path budgets (issue 22), in instructions: a round trip as the guest
 * measures it with RDTSC, where one TSC tick is one instruction retired
 * (emu_tsc_counts_instructions()). `make bench` prints each figure next to
 * its budget; the exit_budget_* tests fail a run that goes BUDGET_SLACK_PCT
 * over one.
 */
#ifndef MINIHV_BUDGET_H
#define MINIHV_BUDGET_H

/* CPUID exit, guest CPUID to the next guest instruction (VMX and SVM alike). */
#define BUDGET_CPUID_ROUND_TRIP 130
/* First touch of a 4 KiB page whose tables are present: exit, fault-in, re-entry. */
#define BUDGET_TDP_FAULT_ROUND_TRIP 700
/* How far over budget a test lets a figure go before it fails. */
#define BUDGET_SLACK_PCT 10

static inline unsigned long budget_limit(unsigned long budget)
{
	return budget + budget * BUDGET_SLACK_PCT / 100;
}

#endif
