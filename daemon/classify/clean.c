#include "clean.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "appealsd/event.h"
#include "utf8.h"

/* Top-level domains that make "name.tld/…" a link when no scheme is
 * written.  Deliberately short: "д.5" or "т.к." must stay words. */
static const char *const tlds[] = {
    "ru", "com", "org", "net", "me", "ly", "su", "info", "io", "cc", "online", "site", "pro",
    "club", "shop", "store", "xyz", "to", "gl", "link", "biz", "us", "de", "kz", "by", "ua",
    "tv", "gg", "app", "top", "live", "ws", "ms", NULL,
};

static const struct {
    const char *name;
    const char *utf8;
} entities[] = {
    {"amp", "&"}, {"lt", "<"}, {"gt", ">"}, {"quot", "\""}, {"apos", "'"}, {"nbsp", " "},
    {"laquo", "«"}, {"raquo", "»"}, {"mdash", "—"}, {"ndash", "–"}, {"hellip", "…"},
    {"shy", ""}, {"copy", "©"}, {"deg", "°"}, {"lsquo", "‘"}, {"rsquo", "’"},
    {"ldquo", "“"}, {"rdquo", "”"}, {"bdquo", "„"}, {"times", "×"}, {"minus", "−"},
    {"thinsp", " "}, {"ensp", " "}, {"emsp", " "}, {"numero", "№"}, {NULL, NULL},
};

static bool is_alnum(unsigned char c)
{
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

static bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

static bool is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* The byte before position i of the input is part of a word (ASCII or not). */
static bool word_before(const unsigned char *s, size_t i)
{
    return i > 0 && (is_alnum(s[i - 1]) || s[i - 1] >= 0x80 || s[i - 1] == '_');
}

static void put_cp(struct sbuf *b, uint32_t cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    sbuf_add(b, u, n);
}

/* Where a URL that starts at i ends: at a space, a quote or an angle
 * bracket, minus trailing punctuation that belongs to the sentence. */
static size_t url_end(const unsigned char *s, size_t len, size_t i)
{
    size_t e = i;
    while (e < len && !is_space(s[e]) && s[e] != '<' && s[e] != '>' && s[e] != '"' &&
           s[e] != '\'' && !(s[e] == 0xC2 && e + 1 < len && (s[e + 1] == 0xAB || s[e + 1] == 0xBB)))
        e++;
    while (e > i && strchr(".,;:!?)]", s[e - 1]) != NULL)
        e--;
    return e;
}

static bool has_prefix_ci(const unsigned char *s, size_t len, size_t i, const char *p)
{
    size_t n = strlen(p);
    return len - i >= n && strncasecmp((const char *)s + i, p, n) == 0;
}

/* A bare "host.tld[/path]" starting at i: returns its end, or 0. */
static size_t bare_domain(const unsigned char *s, size_t len, size_t i)
{
    size_t e = i, last_dot = 0;
    int dots = 0;
    while (e < len && (is_alnum(s[e]) || s[e] == '-' || s[e] == '.')) {
        if (s[e] == '.') {
            if (e == i || s[e - 1] == '.')
                return 0;
            last_dot = e;
            dots++;
        }
        e++;
    }
    if (dots == 0 || last_dot + 1 >= e)
        return 0;
    size_t tl = e - last_dot - 1;
    bool known = false;
    for (size_t k = 0; tlds[k] && !known; k++)
        known = strlen(tlds[k]) == tl && strncasecmp((const char *)s + last_dot + 1, tlds[k], tl) == 0;
    if (!known || (e < len && (s[e] >= 0x80 || s[e] == '_')))
        return 0;
    return e < len && s[e] == '/' ? url_end(s, len, e) : e;
}

static void add_url(struct clean_out *o, const unsigned char *s, size_t n)
{
    sbuf_add(&o->urls, s, n);
    sbuf_addc(&o->urls, '\0');
    o->nurls++;
}

/* A phone number starting at i: +7 (918) 123-45-67, 8-918-123-45-67,
 * 89181234567, 9181234567.  Returns its end, or 0. */
static size_t phone(const unsigned char *s, size_t len, size_t i)
{
    size_t e = i, last_digit = 0;
    int digits = 0;
    bool plus = s[e] == '+';
    if (plus)
        e++;
    unsigned char first = e < len ? s[e] : 0;
    while (e < len && e - i < 24) {
        if (is_digit(s[e])) {
            digits++;
            last_digit = e;
        } else if (!(s[e] == ' ' || s[e] == '-' || s[e] == '(' || s[e] == ')')) {
            break;
        } else if (s[e] == ' ' && e + 1 < len && s[e + 1] == ' ') {
            break;
        }
        e++;
    }
    e = last_digit + 1;
    if (digits < 10 || digits > 12 || (e < len && (is_alnum(s[e]) || s[e] >= 0x80)))
        return 0;
    if (plus || (digits == 11 && (first == '7' || first == '8')) || (digits == 10 && first == '9'))
        return e;
    return 0;
}

/* VK mention markup "[id1|Имя]", "[club1|…]", "[public1|…]": its end or 0. */
static size_t vk_mention(const unsigned char *s, size_t len, size_t i)
{
    /* the masks a source put in place of the markup count as the markup */
    static const char *const masks[] = {APD_MENTION_PERSON, APD_MENTION_COMMUNITY, NULL};
    for (size_t k = 0; masks[k]; k++)
        if (len - i >= strlen(masks[k]) && memcmp(s + i, masks[k], strlen(masks[k])) == 0)
            return i + strlen(masks[k]);
    static const char *const kinds[] = {"id", "club", "public", "event", NULL};
    for (size_t k = 0; kinds[k]; k++) {
        size_t n = strlen(kinds[k]);
        if (len - i > n + 1 && memcmp(s + i + 1, kinds[k], n) == 0 && is_digit(s[i + 1 + n])) {
            for (size_t e = i + 1 + n; e < len && e - i < 256 && s[e] != '\n' && s[e] != '['; e++)
                if (s[e] == ']')
                    return memchr(s + i, '|', e - i) ? e + 1 : 0;
            return 0;
        }
    }
    return 0;
}

/* "<tag …>": its end, or 0.  *nl is set for tags that break a line. */
static size_t html_tag(const unsigned char *s, size_t len, size_t i, bool *nl)
{
    if (i + 1 >= len || !(((s[i + 1] | 0x20) >= 'a' && (s[i + 1] | 0x20) <= 'z') ||
                          s[i + 1] == '/' || s[i + 1] == '!'))
        return 0;
    const unsigned char *gt = memchr(s + i, '>', len - i < 1024 ? len - i : 1024);
    if (gt == NULL)
        return 0;
    size_t p = i + 1 + (s[i + 1] == '/');
    *nl = has_prefix_ci(s, len, p, "br") || has_prefix_ci(s, len, p, "p") ||
          has_prefix_ci(s, len, p, "div") || has_prefix_ci(s, len, p, "li");
    return (size_t)(gt - s) + 1;
}

/* "&name;" or "&#NNN;" / "&#xHH;": appends the character, returns the end or 0. */
static size_t entity(const unsigned char *s, size_t len, size_t i, struct sbuf *out)
{
    size_t e = i + 1;
    while (e < len && e - i < 12 && s[e] != ';')
        e++;
    if (e >= len || s[e] != ';' || e == i + 1)
        return 0;
    if (s[i + 1] == '#') {
        bool hex = e > i + 2 && (s[i + 2] | 0x20) == 'x';
        uint32_t cp = 0;
        for (size_t k = i + 2 + hex; k < e; k++) {
            unsigned c = s[k] | 0x20;
            unsigned v = is_digit(s[k]) ? (unsigned)(s[k] - '0') : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10 : 99;
            if (v == 99 || cp > 0x10FFFF)
                return 0;
            cp = cp * (hex ? 16 : 10) + v;
        }
        if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || e == i + 2 + hex)
            return 0;
        put_cp(out, cp < 0x20 ? ' ' : cp);
        return e + 1;
    }
    for (size_t k = 0; entities[k].name; k++)
        if (strlen(entities[k].name) == e - i - 1 &&
            memcmp(entities[k].name, s + i + 1, e - i - 1) == 0) {
            sbuf_adds(out, entities[k].utf8);
            return e + 1;
        }
    return 0;
}

/* Removes the e-mail local part just written ("ivanov" of ivanov@mail.ru). */
static void drop_local_part(struct sbuf *t)
{
    while (t->len > 0 && (is_alnum((unsigned char)t->p[t->len - 1]) ||
                          strchr("._+-", t->p[t->len - 1]) != NULL))
        t->len--;
    t->p[t->len] = '\0';
}

/* A combining mark after a letter: compose what Russian needs, drop the rest
 * of the accents people use to mark stress. */
static void combining(struct sbuf *t, uint32_t cp)
{
    const unsigned char *p = (const unsigned char *)t->p;
    size_t n = t->len;
    if (cp == 0x0306 && n >= 2 && p[n - 2] == 0xD0 && (p[n - 1] == 0xB8 || p[n - 1] == 0x98)) {
        t->p[n - 1] = (char)(p[n - 1] + 1);             /* и → й, И → Й */
        return;
    }
    if (cp == 0x0308 && n >= 2 && p[n - 2] == 0xD0 && (p[n - 1] == 0xB5 || p[n - 1] == 0x95)) {
        bool upper = p[n - 1] == 0x95;
        t->len -= 2;
        sbuf_adds(t, upper ? "Ё" : "ё");
        return;
    }
    if (cp == 0x0300 || cp == 0x0301)
        return;
    put_cp(t, cp);
}

static uint32_t decode(const unsigned char *s, size_t n)
{
    if (n == 2)
        return ((uint32_t)(s[0] & 0x1F) << 6) | (s[1] & 0x3F);
    if (n == 3)
        return ((uint32_t)(s[0] & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
    return ((uint32_t)(s[0] & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) |
           ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
}

/* One non-ASCII character: spaces, invisible characters, marks, the rest. */
static void non_ascii(struct sbuf *t, const unsigned char *s, size_t n)
{
    uint32_t cp = decode(s, n);
    if (cp == 0xA0 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x202F || cp == 0x205F ||
        cp == 0x3000)
        sbuf_addc(t, ' ');
    else if (cp == 0x2028 || cp == 0x2029 || cp == 0x85)
        sbuf_addc(t, '\n');
    else if ((cp >= 0x200B && cp <= 0x200F) || cp == 0x2060 || cp == 0xFEFF || cp == 0xAD ||
             (cp >= 0xFE00 && cp <= 0xFE0F) || (cp >= 0x80 && cp < 0xA0))
        ;
    else if (cp >= 0x0300 && cp <= 0x036F)
        combining(t, cp);
    else
        sbuf_add(t, s, n);
}

/* Markup and contact details at position i; returns the end or 0. */
static size_t special(const unsigned char *s, size_t len, size_t i, struct clean_out *o)
{
    size_t e;
    bool nl = false;
    switch (s[i]) {
    case '<':
        if ((e = html_tag(s, len, i, &nl)) != 0)
            sbuf_addc(&o->text, nl ? '\n' : ' ');
        return e;
    case '&':
        return entity(s, len, i, &o->text);
    case '[':
        if ((e = vk_mention(s, len, i)) != 0) {
            o->mentions++;
            sbuf_addc(&o->text, ' ');
        }
        return e;
    case '@':
        if (i + 2 < len && (is_alnum(s[i + 1]) || s[i + 1] == '_')) {
            if (word_before(s, i))
                drop_local_part(&o->text);
            for (e = i + 1; e < len && (is_alnum(s[e]) || strchr("_.-", s[e]) != NULL); e++)
                ;
            while (e > i + 1 && s[e - 1] == '.')
                e--;
            o->mentions++;
            sbuf_addc(&o->text, ' ');
            return e;
        }
        return 0;
    }
    if (word_before(s, i))
        return 0;
    if (has_prefix_ci(s, len, i, "http://") || has_prefix_ci(s, len, i, "https://") ||
        has_prefix_ci(s, len, i, "www.")) {
        e = url_end(s, len, i);
    } else if (s[i] == '+' || is_digit(s[i])) {
        if ((e = phone(s, len, i)) != 0) {
            o->phones++;
            sbuf_addc(&o->text, ' ');
        }
        return e;
    } else if (is_alnum(s[i])) {
        e = bare_domain(s, len, i);
    } else {
        return 0;
    }
    if (e > i) {
        add_url(o, s + i, e - i);
        sbuf_addc(&o->text, ' ');
        return e;
    }
    return 0;
}

/* Bytes that are copied as they are: Cyrillic letters, and ASCII that is
 * neither markup, nor a control character, nor the start of a word (which
 * may be a link or a phone number). */
static size_t plain_run(const unsigned char *s, size_t len, size_t i)
{
    size_t e = i;
    while (e < len) {
        unsigned char c = s[e];
        if ((c == 0xD0 || c == 0xD1) && e + 1 < len && (s[e + 1] & 0xC0) == 0x80) {
            e += 2;
            continue;
        }
        if (c >= 0x80 || c < 0x20 || c == 0x7F || c == '<' || c == '&' || c == '[' ||
            c == '@' || c == '+' || (is_alnum(c) && !word_before(s, e)))
            break;
        e++;
    }
    return e;
}

void clean_text(const char *str, size_t len, struct clean_out *o)
{
    const unsigned char *s = (const unsigned char *)str;
    sbuf_reset(&o->text);
    sbuf_reset(&o->urls);
    o->nurls = 0;
    o->mentions = o->phones = 0;
    sbuf_reserve(&o->text, len + 1);
    size_t i = 0;
    while (i < len) {
        size_t run = plain_run(s, len, i);
        if (run > i) {
            sbuf_add(&o->text, s + i, run - i);
            i = run;
            continue;
        }
        unsigned char c = s[i];
        if (c < 0x80) {
            size_t e = strchr("<&[@+hHwW0123456789", c) != NULL || is_alnum(c)
                           ? special(s, len, i, o) : 0;
            if (e > i) {
                i = e;
                continue;
            }
            if (c == '\r' || c == '\n')
                sbuf_addc(&o->text, '\n');
            else if (c < 0x20 || c == 0x7F)
                sbuf_addc(&o->text, ' ');
            else
                sbuf_addc(&o->text, (char)c);
            i++;
            continue;
        }
        size_t n = utf8_seq_len(str + i, len - i);
        if (n == 0) {
            sbuf_addc(&o->text, ' ');
            i++;
            continue;
        }
        non_ascii(&o->text, s + i, n);
        i += n;
    }
    sbuf_str(&o->text);
}

void clean_out_free(struct clean_out *o)
{
    sbuf_free(&o->text);
    sbuf_free(&o->urls);
}
