/* The citizen's follow-up: what a comment by an appeal's author, in the
 * appeal's thread after an answer, says about the fix.
 *
 *   reopen   «не сделано», «до сих пор», «опять», «ничего не изменилось»:
 *            the appeal opens again (by: citizen), its clocks go on
 *   confirm  «спасибо, сделали»: the citizen confirms the fix
 *   update   anything else: the text joins the appeal as an update
 *
 * Decided by the `[followup reopen]` and `[followup confirm]` sections of the
 * answer judge's lexicons (judge.h); a text that hits both reopens. */
#ifndef APPEALSD_ANSWER_FOLLOWUP_H
#define APPEALSD_ANSWER_FOLLOWUP_H

#include <stddef.h>

struct answer_judge;

enum followup { FU_REOPEN, FU_CONFIRM, FU_UPDATE, FU_N };

/* A NULL judge (no [answer] section) makes every follow-up an update. */
enum followup answer_followup(struct answer_judge *j, const char *text, size_t len);
const char *followup_name(enum followup f);

#endif
