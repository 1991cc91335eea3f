/**
 * @file classify.h
 * @brief Classifier plugins: the analysed text they receive, the decision
 *        they return and the evidence they report (plugin ABI 1.3).
 *
 * A classifier plugin is an `APD_PLUGIN_CLASSIFIER` plugin (see plugin.h)
 * whose descriptor points at a `struct apd_classifier_ops`.  The daemon runs
 * every configured classifier in a chain, in the `order` of its
 * `[classifier "NAME"]` section, over each text a citizen wrote:
 *
 *   1. the host analyses the text once (struct apd_text: HTML, entities,
 *      VK mention markup, URLs and phone numbers taken out; case-folded with
 *      Unicode rules; ё folded to е; Latin look-alike letters inside Cyrillic
 *      words repaired; tokens with their Snowball Russian stems; negation
 *      scopes; emoji, repeated punctuation and capitals counted);
 *   2. it zeroes a `struct apd_classification` and hands it to the first
 *      classifier, then the same struct to the next: each one sees what the
 *      earlier ones decided and may keep, change or clear any field (a spam
 *      filter after the Russian classifier, an operator override list last);
 *      a classifier that sets APD_CLS_FINAL ends the chain;
 *   3. after the chain the host derives `is_appeal` from the kind, falls back
 *      to the page's municipality when no classifier named one, and copies
 *      everything it keeps.
 *
 * The default scheme's codes (kind, category, priority, municipality) are
 * listed in docs/classifier.md; plugins may use other codes, which the host
 * passes through unchanged, except that a kind other than "gratitude" and
 * "noise" counts as an appeal.
 *
 * Threading: classify() runs on the daemon's event-loop thread (or in the
 * `appealsd classify` tool), one call at a time per instance; it must not
 * block and should take microseconds, not milliseconds.
 *
 * Versioning follows plugin.h: structs carry `struct_size` and only ever grow
 * at the end, before `reserved`.
 */
#ifndef APPEALSD_CLASSIFY_H_INCLUDED_
#define APPEALSD_CLASSIFY_H_INCLUDED_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @name Token flags (apd_token.flags) */
/**@{*/
#define APD_TOK_CYRILLIC   0x0001u /**< the word's letters are Cyrillic */
#define APD_TOK_LATIN      0x0002u /**< the word's letters are Latin */
#define APD_TOK_NUMBER     0x0004u /**< digits only */
#define APD_TOK_CAPS       0x0008u /**< written in capitals (two letters or more) */
#define APD_TOK_NEGATED    0x0010u /**< inside a negation's scope ("не работает", "воды нет") */
#define APD_TOK_NEGATOR    0x0020u /**< a negation word itself: не, нет, нету, ни, без */
#define APD_TOK_REPAIRED   0x0040u /**< Latin look-alike letters were replaced by Cyrillic */
#define APD_TOK_SPLIT      0x0080u /**< cut from a longer run at a case or digit boundary */
#define APD_TOK_SENT_START 0x0100u /**< first token of its sentence */
#define APD_TOK_QUESTION   0x0200u /**< its sentence ends with '?' */
#define APD_TOK_EXCLAIM    0x0400u /**< its sentence ends with '!' */
#define APD_TOK_HYPHEN     0x0800u /**< joined to the word before by a hyphen ("из-за") */
#define APD_TOK_CLAUSE     0x1000u /**< first word after a comma, semicolon, colon or dash
                                        inside its sentence */
/**@}*/

/**
 * @brief One word of an analysed text.
 *
 * `word` is the token as written, case-folded, with ё → е and repaired
 * look-alike letters; `stem` is its Snowball Russian stem for Cyrillic words
 * and equals `word` for other tokens.  Both are NUL-terminated.
 *
 * This struct never grows (plugins index arrays of it with their own
 * sizeof): more per-token data comes as parallel arrays in apd_text.
 */
struct apd_token {
    const char *word;
    const char *stem;
    uint32_t start, len;  /**< bytes of apd_text.text this token covers */
    uint16_t wlen, slen;  /**< byte lengths of word and stem */
    uint16_t flags;       /**< APD_TOK_* */
    uint16_t sentence;    /**< index of its sentence, from 0 */
};

/**
 * @brief A text as the host analysed it.
 *
 * Everything is owned by the host and borrowed by the plugin for the
 * duration of the call it was passed to (or until text_free() for texts the
 * plugin asked the host to analyse).  `text` is the cleaned text: markup,
 * mentions, URLs and phone numbers replaced by spaces, entities decoded,
 * combining accents composed or dropped; every span refers to it.
 */
struct apd_text {
    size_t struct_size;
    const char *text;
    size_t text_len;
    const struct apd_token *tokens;
    size_t ntokens;
    const char *const *urls;       /**< links found in the original, as written */
    size_t nurls;
    uint32_t mentions;             /**< [id1|…], [club1|…], @name, e-mail addresses */
    uint32_t phones;               /**< phone numbers */
    uint32_t emoji;                /**< pictographic emoji */
    uint32_t emoji_positive;       /**< 👍 ❤ 🙏 😊 👏 and text smileys ")))" */
    uint32_t emoji_negative;       /**< 👎 😡 🤬 😢 and "(((" */
    uint32_t exclaim_runs;         /**< "!!" or longer */
    uint32_t question_runs;        /**< "??" or longer, "?!" */
    uint32_t questions;            /**< sentences ending in '?' */
    uint32_t sentences;
    uint32_t letters;              /**< letters in words */
    uint32_t upper_letters;        /**< of them written in capitals */
    uint32_t truncated;            /**< nonzero: tokens beyond the host's cap were dropped */
    /**
     * Per token, the id of its word in the host's vocabulary: the same word
     * has the same id in every text of one vocabulary generation, so a
     * plugin can remember what it worked out about a word in an array
     * indexed by id instead of hashing the word.  Ids are below
     * vocabulary_size; when the host empties its vocabulary (it is bounded)
     * the generation changes and a plugin must forget what it remembered.
     */
    const uint32_t *word_ids;
    uint32_t vocabulary;           /**< the vocabulary generation */
    uint32_t vocabulary_size;
    void *reserved[6];
};

/** @brief What a classifier is asked about.  Borrowed for the call. */
struct apd_classify_input {
    size_t struct_size;
    const char *text;               /**< the citizen's text as received (UTF-8) */
    size_t text_len;
    const struct apd_text *analysis;/**< the host's analysis of text */
    const char *source;             /**< "vk", ...; NULL when unknown */
    const char *page;               /**< page id within the source, or NULL */
    const char *page_municipality;  /**< municipality of that page, or NULL */
    const char *item_kind;          /**< "comment", "message", ...; or NULL */
    void *reserved[6];
};

/** Flags of apd_classification.flags. */
#define APD_CLS_FINAL 0x1u  /**< do not run the classifiers after this one */

/**
 * @brief The decision, passed down the chain.
 *
 * A NULL code means "not decided".  Confidences are in 0..1.  String
 * ownership: whatever a plugin stores here must stay valid until that
 * plugin's next classify() call or its destroy(), whichever comes first
 * (static strings, strings of its own state, or strings it found here); the
 * host copies the final values before it calls that plugin again.
 */
struct apd_classification {
    size_t struct_size;
    const char *kind;             /**< complaint, question, request, gratitude, noise */
    double kind_confidence;
    const char *category;         /**< category code; NULL for non-appeals */
    double category_confidence;
    const char *municipality;     /**< municipality code from the text, or NULL */
    double municipality_confidence;
    const char *priority;         /**< critical, high, normal */
    double priority_confidence;
    const char *priority_reason;  /**< short human reason: "запах газа", or NULL */
    unsigned flags;               /**< APD_CLS_* */
    void *reserved[6];
};

/**
 * @brief One piece of evidence: a term or rule that spoke for a value.
 *
 * All strings are borrowed for the duration of the evidence callback; the
 * host copies them.
 */
struct apd_evidence {
    size_t struct_size;
    const char *field;    /**< "kind", "category", "municipality", "priority" */
    const char *value;    /**< the code the evidence speaks for */
    const char *term;     /**< the lexicon entry as written in its file, or NULL */
    const char *rule;     /**< a rule or feature name, or NULL */
    double weight;        /**< its contribution (negative: spoke against) */
    uint32_t start, len;  /**< the words of apd_text.text that matched; len 0: none */
    unsigned flags;       /**< APD_EVD_* */
    void *reserved[2];
};

#define APD_EVD_FUZZY 0x1u   /**< matched a misspelling (edit distance 1) */
#define APD_EVD_SPLIT 0x2u   /**< matched inside a glued word ("нетводы") */

/** Host callback receiving evidence; copies what it keeps. */
typedef void (*apd_evidence_fn)(void *ctx, const struct apd_evidence *ev);

/** Host callback receiving one feature of a text: its index in the
 *  plugin's feature space and its value (ABI 1.3). */
typedef void (*apd_feature_fn)(void *ctx, uint32_t index, double value);

/** @brief Callbacks of a classifier plugin. */
struct apd_classifier_ops {
    size_t struct_size;
    /**
     * @brief Classify one text.
     *
     * @param state     the instance init() returned
     * @param in        the text and its context; borrowed for the call
     * @param io        the decision so far; update the fields you decide
     * @param evidence  report the terms and rules behind your decisions
     * @param ctx       pass to evidence
     * @returns 0, or -1 when this text could not be classified (the host logs
     *          it once per plugin and goes on with the rest of the chain).
     */
    int (*classify)(void *state, const struct apd_classify_input *in,
                    struct apd_classification *io, apd_evidence_fn evidence, void *ctx);
    /**
     * @brief Report the feature vector of one text (ABI 1.3; optional, NULL
     *        when the plugin has no trained model).
     *
     * The vector is what the plugin's model would score for this text,
     * each index once, in increasing order; a trainer learns from these
     * vectors, so training and prediction see the same features.
     *
     * @returns the size of the feature space (indices are below it), or 0
     *          when this text could not be analysed.
     */
    uint32_t (*features)(void *state, const struct apd_classify_input *in,
                         apd_feature_fn emit, void *ctx);
    void *reserved[6];
};

/** Size of the first (ABI 1.2) part of apd_classifier_ops: the least a
 *  plugin may provide. */
#define APD_CLASSIFIER_OPS_SIZE_1_2 \
    (offsetof(struct apd_classifier_ops, classify) + sizeof(void (*)(void)))

#ifdef __cplusplus
}
#endif

#endif
