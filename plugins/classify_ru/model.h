/* classify_ru: the trained linear model (tools/classify_train builds it).
 *
 * Three heads over the same feature vector (fvec.h):
 *   appeal    logistic: is this text an appeal at all
 *   kind      one-vs-rest logistic over complaint, question, request, gratitude, noise
 *   category  one-vs-rest logistic over the categories it was trained on
 * Each head's probabilities are calibrated by a temperature chosen on the
 * dev set; the appeal threshold and a minimum probability per category are
 * chosen there too (below its minimum a category is not claimed: the text
 * is `other`).
 *
 * File format (text, UTF-8, one item per line; '#' starts a comment line):
 *   appealsd-model 1
 *   features VERSION DIM                 the recipe and the space (fvec.h)
 *   head NAME CLASS...                   appeal has one class: "appeal"
 *   bias NAME W...                       one per class
 *   temperature NAME T
 *   threshold appeal P
 *   minimum CATEGORY P                   per category of the category head
 *   source TEXT                          free text: what it was trained on
 *   weights N                            then N lines: INDEX W... (every head's
 *                                        classes, in head order)
 * Anything wrong is refused with the file, the line and the reason. */
#ifndef APPEALSD_RU_MODEL_H
#define APPEALSD_RU_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fvec.h"

enum model_head { HEAD_APPEAL, HEAD_KIND, HEAD_CATEGORY, NHEADS };

#define MODEL_MAX_CLASSES 32
#define MODEL_MAX_WIDTH (NHEADS * MODEL_MAX_CLASSES)
#define MODEL_NO_ROW 0xFFFFu
#define MODEL_MAX_ROWS 0xFFFFu

struct model {
    uint32_t dim;
    size_t nclass[NHEADS];
    size_t col0[NHEADS];           /* first column of each head in a row */
    size_t width;                  /* columns per row: all heads */
    char *classes[NHEADS][MODEL_MAX_CLASSES];
    double bias[NHEADS][MODEL_MAX_CLASSES];
    double temperature[NHEADS];
    double appeal_threshold;
    double minimum[MODEL_MAX_CLASSES];   /* per category class */
    uint16_t *row;                 /* per feature bucket: its row, or MODEL_NO_ROW */
    float *w[NHEADS];              /* per head: rows × nclass[h] (a head's weights
                                      together: the appeal and kind heads of a text's
                                      features stay in few cache lines) */
    size_t nrows;
    char source[256];
};

/* NULL with "FILE:LINE: reason" in err. */
struct model *model_load(const char *path, char *err, size_t errlen);
void model_free(struct model *m);

/* The raw scores of the classes of heads from..to (inclusive) for v, in one
 * pass over its features: z gets width numbers, head h's from col0[h]. */
void model_scores(const struct model *m, const struct fvec *v, enum model_head from,
                  enum model_head to, double *z);

/* Probabilities of each class of head h from the scores of model_scores
 * (nclass[h] of them into p); for the appeal head p[0] is P(appeal). */
void model_predict(const struct model *m, enum model_head h, const double *z, double *p);

/* The features of v that added most to class c of head h (sign 1), or
 * took most from it (sign -1): their positions in v, strongest first, at
 * most max; contrib gets each one's signed contribution.  Only the features
 * that came from the text's words (words), or only the others.  Returns how
 * many. */
size_t model_top(const struct model *m, enum model_head h, size_t c, int sign, bool words,
                 const struct fvec *v, size_t *pos, double *contrib, size_t max);

/* The weight of feature bucket idx for class c of head h (0 when the model
 * has none). */
double model_weight(const struct model *m, enum model_head h, size_t c, uint32_t idx);

/* The index of a class of head h by name, or -1. */
int model_class(const struct model *m, enum model_head h, const char *name);

#endif
