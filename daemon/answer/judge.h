/* The answer judge: is an answer to an appeal substantive, formal («отписка»)
 * or a refusal, and why.
 *
 *   [answer]
 *   lexicon = ../classifier/ru/05-common.lex, ../answer/ru.lex
 *
 * The lexicons (the classifier's format and matcher, plugins/lexicon/lex.h)
 * hold sections `[signal CODE]` whose phrases speak for one reason:
 *
 *   term       a date or a term ("до 15 мая", "в течение недели")
 *   action     an action or a result ("заделали", "бригада выехала")
 *   redirect   the answer only hands the matter on ("передано в ...")
 *   law        it cites norms ("в соответствии с", "ФЗ")
 *   elsewhere  it sends the citizen to write or call elsewhere ("обратитесь в")
 *   refusal    it declines ("не представляется возможным", "не планируется")
 *
 * and `[param]` weights and thresholds (see config/answer/ru.lex).  A date
 * written in digits ("11.03.2021", "2024 году") counts as a term, and a
 * photo or document attached to the answer as evidence (reason
 * `attachment`).  The decision, in this order:
 *   refusal      refusal ≥ refusal_min and action < action_min
 *   substantive  term + action + attachment − formal_factor × (redirect + law
 *                + elsewhere) ≥ substantive_min
 *   formal       otherwise (reason `no_term_no_action` when neither was found)
 *
 * The judge is part of the daemon, not a plugin: the pipeline, the agency
 * status consumer, the control socket and `appealsd answer-check` all need
 * the same one decision, and there is no chain of judges to configure.  It
 * belongs to the configuration snapshot: a reload reads the lexicons again.
 * Loop thread (or a tool's main thread) only. */
#ifndef APPEALSD_ANSWER_JUDGE_H
#define APPEALSD_ANSWER_JUDGE_H

#include <stdbool.h>
#include <stddef.h>

struct apd_config;
struct jw;
struct answer_judge;

enum answer_quality { AQ_NONE, AQ_SUBSTANTIVE, AQ_FORMAL, AQ_REFUSAL };

/* Reasons, as bits. */
enum answer_reason {
    AR_TERM = 1u << 0,
    AR_ACTION = 1u << 1,
    AR_ATTACHMENT = 1u << 2,
    AR_REDIRECT = 1u << 3,
    AR_LAW = 1u << 4,
    AR_ELSEWHERE = 1u << 5,
    AR_REFUSAL = 1u << 6,
    AR_EMPTY = 1u << 7,         /* neither a term nor an action */
};
#define AR_COUNT 8

struct answer_verdict {
    enum answer_quality quality;
    unsigned reasons;           /* AR_* */
};

/* The judge of a configuration snapshot, or NULL when it has no [answer]
 * section (answers are then not judged: quality "none"). */
struct answer_judge *answer_judge_of(const struct apd_config *c);

/* Judges text (UTF-8, len bytes); attachments: photos or documents that came
 * with it.  A NULL judge gives AQ_NONE. */
void answer_judge_text(struct answer_judge *j, const char *text, size_t len,
                       unsigned attachments, struct answer_verdict *v);

/* "substantive", "formal", "refusal"; NULL for AQ_NONE. */
const char *answer_quality_name(enum answer_quality q);
/* The quality a name stands for (AQ_NONE for NULL or unknown). */
enum answer_quality answer_quality_parse(const char *s);
/* "term", "action", ... for one AR_ bit. */
const char *answer_reason_name(unsigned bit);
/* The reasons as a comma-separated list (for records and audit lines). */
void answer_reasons_text(unsigned reasons, char *out, size_t len);
unsigned answer_reasons_parse(const char *s);
/* Writes the reasons as a JSON array of names. */
void answer_reasons_json(struct jw *w, unsigned reasons);

#endif
