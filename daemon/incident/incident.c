#include "incident.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"

/* Russian stems are taken as the first STEM_LETTERS letters: "света",
 * "светом", "свет" agree, and so do "Ленина" and "Ленину"; a real stemmer
 * would not add much for texts this short and would tie grouping to it. */
#define STEM_LETTERS 5
#define WORD_BYTES 96
#define MAX_TOKENS 400

void inc_params_default(struct inc_params *p)
{
    p->window_ms = 24 * 3600 * 1000LL;
    p->min_similarity = 0.3;
    p->min_similarity_place = 0.1;
    p->max_size = 500;
}

struct token {
    char w[WORD_BYTES];       /* lower case, ё as е */
    size_t letters;
    bool cap;                 /* written with a capital */
    bool num;                 /* digits only */
    bool after_stop;          /* a sentence ended right before it */
    bool after_no_sign;       /* "№" or "N" right before it */
};

/* Decodes one code point; returns its length (1 for an invalid byte, with
 * *cp = 0xFFFD). */
static size_t next_cp(const unsigned char *s, size_t n, uint32_t *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    size_t len = (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3
               : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
    if (len == 0 || len > n) {
        *cp = 0xFFFD;
        return 1;
    }
    uint32_t v = s[0] & (0x7F >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *cp = 0xFFFD;
            return 1;
        }
        v = v << 6 | (s[i] & 0x3F);
    }
    *cp = v;
    return len;
}

static bool is_upper(uint32_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 0x410 && c <= 0x42F) || c == 0x401;
}

/* Lower case, ё → е; 0 for a character that is not part of a word. */
static uint32_t fold(uint32_t c)
{
    if (c >= 'A' && c <= 'Z')
        return c + 32;
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
        return c;
    if (c >= 0x410 && c <= 0x42F)
        return c + 32;
    if (c == 0x401 || c == 0x451)
        return 0x435;
    if (c >= 0x430 && c <= 0x44F)
        return c;
    return 0;
}

static void put_cp(struct token *t, uint32_t c)
{
    size_t n = strlen(t->w);
    if (n + 3 > WORD_BYTES)
        return;
    if (c < 0x80) {
        t->w[n++] = (char)c;
    } else {
        t->w[n++] = (char)(0xC0 | c >> 6);
        t->w[n++] = (char)(0x80 | (c & 0x3F));
    }
    t->w[n] = '\0';
}

/* Splits text into words; returns how many. */
static size_t tokenize(const char *text, size_t len, struct token *toks, size_t max)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t n = 0, i = 0;
    bool stop = true, no_sign = false, in_word = false;
    while (i < len) {
        uint32_t c;
        i += next_cp(s + i, len - i, &c);
        uint32_t f = fold(c);
        if (f == 0) {
            if (in_word) {
                in_word = false;
                n++;
            }
            if (c == '.' || c == '!' || c == '?' || c == '\n')
                stop = true;
            no_sign = c == 0x2116 || (no_sign && c == ' ');
            continue;
        }
        if (!in_word) {
            if (n == max)
                break;
            memset(&toks[n], 0, sizeof(toks[n]));
            toks[n].cap = is_upper(c);
            toks[n].num = true;
            toks[n].after_stop = stop;
            toks[n].after_no_sign = no_sign;
            stop = no_sign = false;
            in_word = true;
        }
        toks[n].num = toks[n].num && c >= '0' && c <= '9';
        toks[n].letters++;
        put_cp(&toks[n], f);
    }
    if (in_word && n < max)
        n++;
    /* "N5" and "N 5" as a number sign before a number */
    for (size_t k = 0; k + 1 < n; k++)
        if (strcmp(toks[k].w, "n") == 0 && toks[k + 1].num)
            toks[k + 1].after_no_sign = true;
    return n;
}

/* Objects that carry a number, by the start of the word, and the kind
 * they are keyed by: "школа № 5", "детский сад 12", "маршрут 5" and
 * "автобус 5".  A house number is not one: "ул. Ленина, 15" and "Ленина,
 * д. 15" are one place. */
static const struct {
    const char *prefix, *kind;
} numbered_objects[] = {
    {"школ", "school"}, {"сад", "kindergarten"}, {"поликлин", "clinic"},
    {"больниц", "hospital"}, {"корпус", "building"}, {"подъезд", "entrance"},
    {"гимнази", "school"}, {"лице", "school"}, {"маршрут", "route"}, {"автобус", "route"},
    {"маршрутк", "route"}, {"троллейбус", "route"}, {NULL, NULL},
};

/* Topics: word starts that name what is wrong, and starts that look the
 * same but are not ("светофор" is not light, "водитель" not water). */
static const struct {
    const char *prefix;
    unsigned topic;
} topic_words[] = {
    {"свет", 0}, {"электр", 0}, {"обесточ", 0}, {"напряжени", 0},
    {"вод", 1}, {"канализ", 2}, {"стоки", 2}, {"отоплен", 3}, {"батаре", 3},
    {"теплоснаб", 3}, {"газ", 4}, {"мусор", 5}, {"контейнер", 5}, {"бак", 5},
    {"свалк", 5}, {"отход", 5}, {"ям", 6}, {"провал", 6}, {"асфальт", 6}, {"выбоин", 6},
    {"автобус", 7}, {"маршрут", 7}, {"фонар", 8}, {"освещен", 8}, {"собак", 9},
    {"трав", 10}, {"покос", 10}, {"дерев", 11}, {"скамей", 12}, {"качел", 12},
    {NULL, 0},
};
static const char *const topic_false_friends[] = {
    "светофор", "светл", "водител", "газет", "газон", "бакал", "электрон", "свето",
    "ямщик", NULL,
};

static bool starts(const char *w, const char *prefix)
{
    return strncmp(w, prefix, strlen(prefix)) == 0;
}

static const char *object_kind(const char *w)
{
    for (size_t i = 0; numbered_objects[i].prefix; i++)
        if (starts(w, numbered_objects[i].prefix))
            return numbered_objects[i].kind;
    return NULL;
}

static unsigned topics_of(const char *w)
{
    for (size_t i = 0; topic_false_friends[i]; i++)
        if (starts(w, topic_false_friends[i]))
            return 0;
    unsigned t = 0;
    for (size_t i = 0; topic_words[i].prefix; i++)
        if (starts(w, topic_words[i].prefix))
            t |= 1u << topic_words[i].topic;
    return t;
}

static bool in_list(const char *w, const char *const *list)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(w, list[i]) == 0)
            return true;
    return false;
}

/* Words before a street's name (the classifier's [street] section) and
 * before a named object. */
static const char *const street_markers[] = {
    "ул", "улица", "улице", "улицы", "улицу", "улицей", "пер", "переулок", "переулке",
    "переулка", "проспект", "проспекте", "пр", "просп", "шоссе", "ш", "проезд", "проезде",
    "бульвар", "бульваре", "наб", "набережная", "набережной", "площадь", "площади", "пл",
    "тупик", "мкр", "микрорайон", "микрорайоне", "мкрн", "снт", "квартал", "квартале",
    "кв-л", "пос", "поселок", "поселке", "аул", "ауле", "станица", "станице", "ст-ца",
    "хутор", "хуторе", "х", "село", "селе", "трасса", "трассе", "трассы", "тц", "жк", NULL,
};

/* Grammar and the words every complaint has: they say nothing of which
 * problem it is. */
static const char *const stop_words[] = {
    "и", "в", "во", "на", "не", "ни", "что", "как", "это", "так", "уже", "еще", "когда",
    "где", "кто", "все", "всё", "весь", "вся", "всю", "его", "ее", "их", "мы", "нас", "нам",
    "вы", "вас", "вам", "я", "меня", "мне", "он", "она", "они", "у", "с", "со", "к", "ко",
    "по", "от", "до", "из", "за", "для", "без", "при", "о", "об", "про", "а", "но", "или",
    "же", "ли", "бы", "то", "там", "тут", "здесь", "вот", "нет", "да", "очень", "когда",
    "сколько", "можно", "нужно", "надо", "просим", "прошу", "пожалуйста", "здравствуйте",
    "добрый", "день", "вечер", "утро", "уважаемая", "уважаемые", "администрация",
    "администрации", "город", "города", "городе", "улица", "улице", "ул", "дом", "доме",
    "д", "опять", "снова", "сегодня", "вчера", "уже", "который", "которая", "будет",
    "есть", "был", "была", "было", "были", "этот", "эта", "эти", "этой", "этом", "наш",
    "наша", "наши", "нашей", "нашем", "ваш", "вашей", "помогите", "спасибо", NULL,
};

static uint32_t fnv1a(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h ? h : 1;
}

static bool ending_letter(const char *c)
{
    static const char *const endings[] = {"а", "я", "о", "е", "ы", "и", "у", "ю", "ь", "й", NULL};
    for (size_t i = 0; endings[i]; i++)
        if (strncmp(c, endings[i], 2) == 0)
            return true;
    return false;
}

/* The stem of w hashed: up to two final vowels (or ь, й) dropped while three
 * letters remain, then the first `letters` letters ("света", "свет" and
 * "светом" agree, so do "школа" and "школе"). */
static uint32_t stem_hash(const char *w, size_t letters)
{
    size_t off[WORD_BYTES + 1], n = 0, b = 0;
    while (w[b] && n < WORD_BYTES) {
        off[n++] = b;
        b += ((unsigned char)w[b] & 0xE0) == 0xC0 ? 2 : 1;
    }
    off[n] = b;
    for (int k = 0; k < 2 && n > 3 && ending_letter(w + off[n - 1]); k++)
        n--;
    if (n > letters)
        n = letters;
    return fnv1a(w, off[n]);
}

static void add_unique(uint32_t *set, size_t *n, size_t max, uint32_t h)
{
    for (size_t i = 0; i < *n; i++)
        if (set[i] == h)
            return;
    if (*n < max)
        set[(*n)++] = h;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* A name after a marker: skip a dot-less abbreviation's second part and
 * take the next word with letters. */
static const struct token *name_after(const struct token *t, size_t k, size_t n)
{
    for (size_t j = k + 1; j < n && j <= k + 2; j++)
        if (!t[j].num && t[j].letters >= 3 && !in_list(t[j].w, stop_words))
            return &t[j];
    return NULL;
}

/* The digits of a number token, also of "n8" (N glued to its number). */
static const char *digits_of(const struct token *t)
{
    if (t->num)
        return t->w;
    if (t->w[0] == 'n' && t->w[1] >= '0' && t->w[1] <= '9' &&
        strspn(t->w + 1, "0123456789") == strlen(t->w + 1))
        return t->w + 1;
    return NULL;
}

/* A number after an object word: "школа № 5", "школа 5", "сад N12",
 * "автобус номер 5". */
static const char *number_after(const struct token *t, size_t k, size_t n)
{
    if (k + 1 < n && digits_of(&t[k + 1]))
        return digits_of(&t[k + 1]);
    if (k + 2 < n && (strcmp(t[k + 1].w, "n") == 0 || starts(t[k + 1].w, "номер")) &&
        t[k + 2].num)
        return t[k + 2].w;
    return NULL;
}

static bool house_number_after(const struct token *t, size_t k, size_t n)
{
    if (k + 1 < n && t[k + 1].num)
        return true;
    return k + 2 < n && (strcmp(t[k + 1].w, "д") == 0 || strcmp(t[k + 1].w, "дом") == 0) &&
           t[k + 2].num;
}

/* A capitalised name right before a street marker ("Пролетарская улица")
 * or right after "на"/"по" in the middle of a sentence ("на Шовгенова"). */
static bool name_before_marker(const struct token *t, size_t k, size_t n)
{
    return t[k].cap && t[k].letters >= 4 && k + 1 < n && !t[k + 1].cap &&
           in_list(t[k + 1].w, street_markers) && strlen(t[k + 1].w) > 2;
}

static bool name_after_preposition(const struct token *t, size_t k)
{
    return t[k].cap && !t[k].after_stop && t[k].letters >= 4 && k > 0 &&
           (strcmp(t[k - 1].w, "на") == 0 || strcmp(t[k - 1].w, "по") == 0);
}

static void add_place(struct inc_features *f, const char *kind, const char *num,
                      const char *name)
{
    char key[WORD_BYTES * 2];
    uint32_t h;
    if (kind) {           /* objects by kind and number, streets by their stem */
        snprintf(key, sizeof(key), "%s#%s", kind, num);
        h = fnv1a(key, strlen(key));
    } else {
        h = stem_hash(name, STEM_LETTERS);
    }
    add_unique(f->places, &f->nplaces, INC_MAX_PLACES, h);
}

static void find_places(const struct token *t, size_t n, struct inc_features *f)
{
    for (size_t k = 0; k < n; k++) {
        const char *kind = object_kind(t[k].w), *num = NULL;
        const struct token *name = NULL;
        if (in_list(t[k].w, street_markers))
            name = name_after(t, k, n);
        else if (kind && (num = number_after(t, k, n)) != NULL)
            add_place(f, kind, num, NULL);
        else if (kind == NULL &&
                 ((t[k].cap && t[k].letters >= 4 && house_number_after(t, k, n)) ||
                  name_before_marker(t, k, n) || name_after_preposition(t, k)))
            name = &t[k];            /* "Пушкина, 12", "Пушкина д. 12" */
        if (name)
            add_place(f, NULL, NULL, name->w);
    }
}

static void find_words(const struct token *t, size_t n, struct inc_features *f)
{
    for (size_t k = 0; k < n; k++) {
        if (t[k].num || t[k].letters < 3 || in_list(t[k].w, stop_words))
            continue;
        add_unique(f->words, &f->nwords, INC_MAX_WORDS, stem_hash(t[k].w, STEM_LETTERS));
        f->topics |= topics_of(t[k].w);
    }
    /* the topics count as words too: "свет" and "электричество" agree */
    for (unsigned b = 0; b < 32; b++)
        if (f->topics & (1u << b)) {
            char key[16];
            snprintf(key, sizeof(key), "#topic%u", b);
            add_unique(f->words, &f->nwords, INC_MAX_WORDS, fnv1a(key, strlen(key)));
        }
    qsort(f->words, f->nwords, sizeof(f->words[0]), cmp_u32);
}

static void copy_code(char *dst, const char *src)
{
    snprintf(dst, INC_CODE_MAX, "%s", src ? src : "");
}

void inc_features_of(const char *text, size_t len, const char *category,
                     const char *municipality, int64_t at_ms, struct inc_features *f)
{
    memset(f, 0, sizeof(*f));
    copy_code(f->category, category);
    copy_code(f->municipality, municipality);
    f->at_ms = at_ms;
    struct token *toks = malloc(MAX_TOKENS * sizeof(*toks));
    if (toks == NULL)
        return;
    size_t n = tokenize(text ? text : "", text ? len : 0, toks, MAX_TOKENS);
    find_places(toks, n, f);
    find_words(toks, n, f);
    free(toks);
}

double inc_similarity(const struct inc_features *a, const struct inc_features *b)
{
    size_t i = 0, j = 0, common = 0;
    while (i < a->nwords && j < b->nwords) {
        if (a->words[i] == b->words[j]) {
            common++;
            i++;
            j++;
        } else if (a->words[i] < b->words[j]) {
            i++;
        } else {
            j++;
        }
    }
    size_t shorter = a->nwords < b->nwords ? a->nwords : b->nwords;
    return shorter ? (double)common / (double)shorter : 0;
}

bool inc_same_place(const struct inc_features *a, const struct inc_features *b, bool *both_named)
{
    *both_named = a->nplaces && b->nplaces;
    for (size_t i = 0; i < a->nplaces; i++)
        for (size_t j = 0; j < b->nplaces; j++)
            if (a->places[i] == b->places[j])
                return true;
    return false;
}

/* An unknown code matches any: the ЦУР's own page has no municipality, and
 * a citizen who names only the street leaves it to the street. */
static bool same_code(const char *a, const char *b, bool *unknown)
{
    if (*a == '\0' || *b == '\0') {
        *unknown = true;
        return true;
    }
    return strcmp(a, b) == 0;
}

double inc_match(const struct inc_params *p, const struct inc_features *a,
                 const struct inc_features *m, int64_t last_ms)
{
    bool unknown = false;
    if (!same_code(a->municipality, m->municipality, &unknown))
        return 0;
    if (a->at_ms - last_ms > p->window_ms || last_ms - a->at_ms > p->window_ms)
        return 0;
    bool both;
    bool same = inc_same_place(a, m, &both);
    if ((both && !same) || (unknown && !same))
        return 0;
    bool same_topic = (a->topics & m->topics) != 0;
    if (a->topics && m->topics && !same_topic)
        return 0;
    /* The category is the classifier's weakest decision ("нет света на
     * ул. Ленина" may come out as roads): a topic in common stands for it. */
    bool same_cat = strcmp(a->category, m->category) == 0;
    if (!same_cat && !same_topic)
        return 0;
    double sim = inc_similarity(a, m);
    if (sim < (same ? p->min_similarity_place : p->min_similarity) || (sim == 0 && !same))
        return 0;
    return sim + (same ? 1 : 0) + (same_cat ? 0.5 : 0) + 1e-9;
}

/* Whether the incident's reports name a municipality other than a's, or
 * name places and none of a's: a report that names neither joins one
 * town's or one street's incident through its text, but never bridges two
 * ("Чкалова, отключили воду" must not take in a burst pipe on Гоголя). */
static bool other_place(const struct inc_features *a, const struct inc_candidate *c)
{
    bool named = false, shared = false;
    for (size_t k = 0; k < c->nmembers; k++) {
        const struct inc_features *m = &c->members[k];
        if (*a->municipality && *m->municipality && strcmp(m->municipality, a->municipality) != 0)
            return true;
        bool both;
        shared = inc_same_place(a, m, &both) || shared;
        named = named || both;
    }
    return named && !shared;
}

int inc_best(const struct inc_params *p, const struct inc_features *a,
             const struct inc_candidate *c, size_t n)
{
    int best = -1;
    double best_score = 0;
    for (size_t i = 0; i < n; i++) {
        if ((p->max_size && c[i].size >= p->max_size) || other_place(a, &c[i]))
            continue;
        for (size_t k = 0; k < c[i].nmembers; k++) {
            double s = inc_match(p, a, &c[i].members[k], c[i].last_ms);
            /* ties go to the older incident: the first to be reported */
            if (s > best_score) {
                best_score = s;
                best = (int)i;
            }
        }
    }
    return best;
}

void inc_features_encode(const struct inc_features *f, struct sbuf *out)
{
    sbuf_printf(out, "%s|%s|%" PRId64 "|%" PRIx32 "|", f->category, f->municipality, f->at_ms,
                f->topics);
    for (size_t i = 0; i < f->nplaces; i++)
        sbuf_printf(out, "%s%08" PRIx32, i ? "," : "", f->places[i]);
    sbuf_addc(out, '|');
    for (size_t i = 0; i < f->nwords; i++)
        sbuf_printf(out, "%s%08" PRIx32, i ? "," : "", f->words[i]);
}

/* Copies the field up to '|' into dst (at most max-1 bytes); returns the
 * position after the '|', or NULL. */
static const char *field(const char *s, const char *end, char *dst, size_t max)
{
    const char *bar = memchr(s, '|', (size_t)(end - s));
    if (bar == NULL || (size_t)(bar - s) >= max)
        return NULL;
    memcpy(dst, s, (size_t)(bar - s));
    dst[bar - s] = '\0';
    return bar + 1;
}

/* Comma-separated hex hashes up to end. */
static int hashes(const char *s, const char *end, uint32_t *set, size_t *n, size_t max)
{
    *n = 0;
    while (s < end) {
        char buf[9];
        const char *comma = memchr(s, ',', (size_t)(end - s));
        const char *stop = comma ? comma : end;
        size_t len = (size_t)(stop - s);
        if (len == 0 || len > 8 || *n == max)
            return -1;
        memcpy(buf, s, len);
        buf[len] = '\0';
        char *e;
        unsigned long v = strtoul(buf, &e, 16);
        if (*e)
            return -1;
        set[(*n)++] = (uint32_t)v;
        s = comma ? comma + 1 : end;
    }
    return 0;
}

int inc_features_decode(const char *s, size_t len, struct inc_features *f)
{
    memset(f, 0, sizeof(*f));
    const char *end = s + len;
    char at[32], topics[16];
    if ((s = field(s, end, f->category, sizeof(f->category))) == NULL ||
        (s = field(s, end, f->municipality, sizeof(f->municipality))) == NULL ||
        (s = field(s, end, at, sizeof(at))) == NULL ||
        (s = field(s, end, topics, sizeof(topics))) == NULL)
        return -1;
    char *e;
    f->topics = (uint32_t)strtoul(topics, &e, 16);
    if (*topics == '\0' || *e)
        return -1;
    f->at_ms = strtoll(at, &e, 10);
    const char *bar = memchr(s, '|', (size_t)(end - s));
    if (*at == '\0' || *e || bar == NULL)
        return -1;
    if (hashes(s, bar, f->places, &f->nplaces, INC_MAX_PLACES) != 0 ||
        hashes(bar + 1, end, f->words, &f->nwords, INC_MAX_WORDS) != 0)
        return -1;
    for (size_t i = 1; i < f->nwords; i++)
        if (f->words[i - 1] >= f->words[i])
            return -1;
    return 0;
}

/* The grouper keeps every incident seen: `appealsd incidents` runs over a
 * day's or a month's export, not forever.  Only the latest MEMBERS_KEPT
 * reports of each are compared, as the daemon does. */
#define MEMBERS_KEPT 16

struct group {
    struct inc_features members[MEMBERS_KEPT];
    size_t size;
    int64_t last_ms;
};

struct inc_grouper {
    struct inc_params p;
    struct group *groups;
    size_t n, cap;
    struct inc_candidate *cand;
};

struct inc_grouper *inc_grouper_new(const struct inc_params *p)
{
    struct inc_grouper *g = calloc(1, sizeof(*g));
    if (g)
        g->p = *p;
    return g;
}

void inc_grouper_free(struct inc_grouper *g)
{
    if (g == NULL)
        return;
    free(g->groups);
    free(g->cand);
    free(g);
}

static void group_add(struct group *gr, const struct inc_features *f)
{
    gr->members[gr->size % MEMBERS_KEPT] = *f;
    gr->size++;
    if (f->at_ms > gr->last_ms)
        gr->last_ms = f->at_ms;
}

size_t inc_grouper_add(struct inc_grouper *g, const struct inc_features *f)
{
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 64;
        struct group *ng = realloc(g->groups, cap * sizeof(*ng));
        struct inc_candidate *nc = realloc(g->cand, cap * sizeof(*nc));
        if (ng)
            g->groups = ng;
        if (nc)
            g->cand = nc;
        if (ng == NULL || nc == NULL)
            abort();           /* as sbuf: nothing useful to do without memory */
        g->cap = cap;
    }
    for (size_t i = 0; i < g->n; i++) {
        const struct group *gr = &g->groups[i];
        g->cand[i] = (struct inc_candidate){
            .members = gr->members,
            .nmembers = gr->size < MEMBERS_KEPT ? gr->size : MEMBERS_KEPT,
            .size = gr->size, .last_ms = gr->last_ms,
        };
    }
    int best = inc_best(&g->p, f, g->cand, g->n);
    if (best >= 0) {
        group_add(&g->groups[best], f);
        return (size_t)best + 1;
    }
    memset(&g->groups[g->n], 0, sizeof(g->groups[0]));
    group_add(&g->groups[g->n], f);
    return ++g->n;
}
