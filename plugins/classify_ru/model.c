/* classify_ru: loading the trained model and scoring a feature vector. */
#include "model.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const head_names[NHEADS] = {"appeal", "kind", "category"};

struct reader {
    FILE *f;
    const char *path;
    size_t line;
    char *buf;
    size_t cap;
    char *err;
    size_t errlen;
};

static int fail(struct reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct reader *r, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(r->err, r->errlen, "%s:%zu: %s", r->path, r->line, msg);
    return -1;
}

/* The next line that is not blank or a comment ('#' first), without its
 * newline; NULL at the end. */
static char *next(struct reader *r)
{
    ssize_t n;
    while ((n = getline(&r->buf, &r->cap, r->f)) >= 0) {
        r->line++;
        while (n > 0 && (r->buf[n - 1] == '\n' || r->buf[n - 1] == '\r'))
            r->buf[--n] = '\0';
        if (n > 0 && r->buf[0] != '#')
            return r->buf;
    }
    return NULL;
}

static int head_of(const char *name)
{
    for (int h = 0; h < NHEADS; h++)
        if (strcmp(name, head_names[h]) == 0)
            return h;
    return -1;
}

static int parse_double(const char *s, double *v, char **end)
{
    errno = 0;
    *v = strtod(s, end);
    return *end == s || errno != 0 || !isfinite(*v) ? -1 : 0;
}

static int read_head(struct reader *r, struct model *m, char *rest)
{
    char *save = NULL, *name = strtok_r(rest, " ", &save);
    int h = name ? head_of(name) : -1;
    if (h < 0)
        return fail(r, "unknown head '%s' (heads: appeal, kind, category)", name ? name : "");
    if (m->nclass[h])
        return fail(r, "head %s given twice", name);
    for (char *c; (c = strtok_r(NULL, " ", &save)) != NULL;) {
        if (m->nclass[h] == MODEL_MAX_CLASSES)
            return fail(r, "head %s has too many classes", name);
        if ((m->classes[h][m->nclass[h]++] = strdup(c)) == NULL)
            abort();
    }
    if (m->nclass[h] == 0 || (h == HEAD_APPEAL && m->nclass[h] != 1))
        return fail(r, "head %s: wrong number of classes (appeal has exactly one)", name);
    return 0;
}

/* "NAME V V ...": n numbers for the head named first. */
static int read_numbers(struct reader *r, char *rest, double *out, size_t n, int *head)
{
    char *end = rest;
    while (*end && *end != ' ')
        end++;
    char save = *end;
    *end = '\0';
    *head = head_of(rest);
    if (*head < 0)
        return fail(r, "unknown head '%s'", rest);
    *end = save;
    char *p = end;
    for (size_t i = 0; i < n; i++)
        if (parse_double(p, &out[i], &p) != 0)
            return fail(r, "expected %s numbers", n == 1 ? "one" : "one per class");
    while (*p == ' ')
        p++;
    return *p ? fail(r, "unexpected '%s' after the numbers", p) : 0;
}

static int read_weights(struct reader *r, struct model *m, size_t nrows)
{
    if (nrows > MODEL_MAX_ROWS)
        return fail(r, "weights %zu: at most %u rows", nrows, MODEL_MAX_ROWS);
    m->row = malloc((size_t)m->dim * sizeof(uint16_t));
    if (m->row == NULL)
        abort();
    for (int h = 0; h < NHEADS; h++)
        if ((m->w[h] = malloc((nrows ? nrows : 1) * m->nclass[h] * sizeof(float))) == NULL)
            abort();
    memset(m->row, 0xff, (size_t)m->dim * sizeof(uint16_t));
    for (size_t i = 0; i < nrows; i++) {
        char *s = next(r), *p;
        if (s == NULL)
            return fail(r, "the file ends after %s weight rows", "fewer");
        unsigned long idx = strtoul(s, &p, 10);
        if (p == s || idx >= m->dim || m->row[idx] != MODEL_NO_ROW)
            return fail(r, "bad or repeated feature index in '%.40s'", s);
        for (int h = 0; h < NHEADS; h++)
            for (size_t k = 0; k < m->nclass[h]; k++) {
                double v;
                if (parse_double(p, &v, &p) != 0)
                    return fail(r, "a weight row needs one weight per class of every head");
                m->w[h][i * m->nclass[h] + k] = (float)v;
            }
        m->row[idx] = (uint16_t)i;
    }
    m->nrows = nrows;
    return next(r) ? fail(r, "unexpected line after the weights%s", "") : 0;
}

static int check_complete(struct reader *r, struct model *m)
{
    for (int h = 0; h < NHEADS; h++)
        if (m->nclass[h] == 0)
            return fail(r, "no 'head %s' before the weights", head_names[h]);
    if (m->dim != FEAT_DIM)
        return fail(r, "the model was trained on another feature space (%s)",
                    "features VERSION DIM does not match this plugin");
    m->width = 0;
    for (int h = 0; h < NHEADS; h++) {
        m->col0[h] = m->width;
        m->width += m->nclass[h];
    }
    return 0;
}

static int read_line(struct reader *r, struct model *m, char *s, bool *weights)
{
    char *sp = strchr(s, ' ');
    char *rest = sp ? sp + 1 : s + strlen(s);
    size_t kw = sp ? (size_t)(sp - s) : strlen(s);
    double v[MODEL_MAX_CLASSES];
    int h;
#define IS(word) (kw == strlen(word) && strncmp(s, word, kw) == 0)
    if (IS("features")) {
        unsigned ver, dim;
        if (sscanf(rest, "%u %u", &ver, &dim) != 2 || ver != FEAT_VERSION)
            return fail(r, "features: this plugin computes feature version %d", FEAT_VERSION);
        m->dim = dim;
    } else if (IS("head")) {
        return read_head(r, m, rest);
    } else if (IS("bias") || IS("temperature")) {
        bool bias = IS("bias");
        char name[32];
        if (sscanf(rest, "%31s", name) != 1 || head_of(name) < 0 || !m->nclass[head_of(name)])
            return fail(r, "'%.40s' names no head declared before it", rest);
        size_t n = bias ? m->nclass[head_of(name)] : 1;
        if (read_numbers(r, rest, v, n, &h) != 0)
            return -1;
        if (bias)
            memcpy(m->bias[h], v, n * sizeof(double));
        else if ((m->temperature[h] = v[0]) <= 0)
            return fail(r, "a temperature must be above 0%s", "");
    } else if (IS("threshold")) {
        if (read_numbers(r, rest, v, 1, &h) != 0 || h != HEAD_APPEAL || v[0] < 0 || v[0] > 1)
            return fail(r, "threshold appeal P, with P in 0..1%s", "");
        m->appeal_threshold = v[0];
    } else if (IS("minimum")) {
        char name[64];
        char *end;
        int c = sscanf(rest, "%63s", name) == 1 ? model_class(m, HEAD_CATEGORY, name) : -1;
        if (c < 0)
            return fail(r, "minimum: '%.40s' is not a class of the category head", rest);
        if (parse_double(rest + strlen(name), &v[0], &end) != 0 || v[0] < 0 || v[0] > 1)
            return fail(r, "minimum CATEGORY P, with P in 0..1%s", "");
        m->minimum[c] = v[0];
    } else if (IS("source")) {
        snprintf(m->source, sizeof(m->source), "%s", rest);
    } else if (IS("weights")) {
        char *end;
        unsigned long n = strtoul(rest, &end, 10);
        if (end == rest || *end || n > m->dim)
            return fail(r, "weights N: N rows follow%s", "");
        *weights = true;
        return check_complete(r, m) != 0 ? -1 : read_weights(r, m, n);
    } else {
        return fail(r, "unknown line '%.40s'", s);
    }
#undef IS
    return 0;
}

struct model *model_load(const char *path, char *err, size_t errlen)
{
    struct reader r = {.path = path, .err = err, .errlen = errlen};
    if ((r.f = fopen(path, "r")) == NULL) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    struct model *m = calloc(1, sizeof(*m));
    if (m == NULL)
        abort();
    for (int h = 0; h < NHEADS; h++)
        m->temperature[h] = 1;
    m->appeal_threshold = 0.5;
    int rc = 0;
    bool weights = false;
    char *s = next(&r);
    if (s == NULL || strcmp(s, "appealsd-model 1") != 0)
        rc = fail(&r, "not an appealsd model (the first line must be 'appealsd-model 1')%s", "");
    while (rc == 0 && !weights && (s = next(&r)) != NULL)
        rc = read_line(&r, m, s, &weights);
    if (rc == 0 && !weights)
        rc = fail(&r, "the file ends before its 'weights' line%s", "");
    if (rc == 0 && ferror(r.f))
        rc = fail(&r, "read error: %s", strerror(errno));
    fclose(r.f);
    free(r.buf);
    if (rc != 0) {
        model_free(m);
        return NULL;
    }
    return m;
}

void model_free(struct model *m)
{
    if (m == NULL)
        return;
    for (int h = 0; h < NHEADS; h++)
        for (size_t c = 0; c < m->nclass[h]; c++)
            free(m->classes[h][c]);
    free(m->row);
    for (int h = 0; h < NHEADS; h++)
        free(m->w[h]);
    free(m);
}

int model_class(const struct model *m, enum model_head h, const char *name)
{
    for (size_t c = 0; c < m->nclass[h]; c++)
        if (strcmp(m->classes[h][c], name) == 0)
            return (int)c;
    return -1;
}

void model_scores(const struct model *m, const struct fvec *v, enum model_head from,
                  enum model_head to, double *z)
{
    for (int h = from; h <= (int)to; h++)
        for (size_t c = 0; c < m->nclass[h]; c++)
            z[m->col0[h] + c] = m->bias[h][c];
    for (size_t i = 0; i < v->n; i++) {
        uint16_t row = m->row[v->idx[i]];
        if (row == MODEL_NO_ROW)
            continue;
        float x = v->val[i];
        for (int h = from; h <= (int)to; h++) {
            size_t n = m->nclass[h];
            const float *w = m->w[h] + (size_t)row * n;
            double *zh = z + m->col0[h];
            for (size_t c = 0; c < n; c++)
                zh[c] += w[c] * x;
        }
    }
}

void model_predict(const struct model *m, enum model_head h, const double *zall, double *p)
{
    size_t n = m->nclass[h];
    const double *z = zall + m->col0[h];
    /* one-vs-rest logistic heads, as liblinear trains them: each class's
     * probability, then normalised over the classes */
    double t = m->temperature[h], sum = 0;
    for (size_t c = 0; c < n; c++)
        sum += (p[c] = 1 / (1 + exp(-z[c] / t)));
    if (h == HEAD_APPEAL)
        return;
    for (size_t c = 0; c < n; c++)
        p[c] = sum > 0 ? p[c] / sum : 1.0 / (double)n;
}

size_t model_top(const struct model *m, enum model_head h, size_t c, int sign, bool words,
                 const struct fvec *v, size_t *pos, double *contrib, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < v->n; i++) {
        if ((v->from[i].token >= 0) != words)
            continue;
        uint16_t row = m->row[v->idx[i]];
        if (row == MODEL_NO_ROW)
            continue;
        double x = sign * m->w[h][(size_t)row * m->nclass[h] + c] * v->val[i];
        if (x <= 0)
            continue;
        size_t j = n < max ? n++ : max;
        if (j == max && x <= contrib[max - 1])
            continue;
        if (j == max)
            j = max - 1;
        while (j > 0 && contrib[j - 1] < x) {
            contrib[j] = contrib[j - 1];
            pos[j] = pos[j - 1];
            j--;
        }
        contrib[j] = x;
        pos[j] = i;
    }
    for (size_t i = 0; i < n; i++)
        contrib[i] *= sign;
    return n;
}

double model_weight(const struct model *m, enum model_head h, size_t c, uint32_t idx)
{
    uint16_t row = idx < m->dim ? m->row[idx] : MODEL_NO_ROW;
    return row == MODEL_NO_ROW ? 0 : m->w[h][(size_t)row * m->nclass[h] + c];
}
