# classify_ru — base settings: weights of the structural signals, the words
# the matcher treats as grammar, settlement and street markers.
#
# Format: config/classifier/README.md.  Every file of this directory is read
# in name order; a later file may add entries to any section and override a
# [param].  Reload with `appealsctl reload` (or SIGHUP): a broken file is
# reported with its line and the running configuration stays.

[param]
# --- appeal or not ---
# the best category's score, times this (capped at topic_cap), speaks for
# an appeal of any kind: a text about roads, water or rubbish usually is one;
# a text about none of the lexicons' topics loses no_topic instead
topic_weight = 0.4
topic_cap = 6
no_topic = 2.5
# --- kind: complaint ---
# per negation word (не, нет, без), at most three
negation = 0.7
negative_emoji = 0.6
exclaim = 0.5
caps = 0.8
# --- kind: question ---
# per sentence ending in '?', at most two
question_mark = 1.8
# --- kind: gratitude ---
positive_emoji = 0.8
# gratitude loses this times the complaint score ("спасибо за яму")
thanks_vs_problem = 0.7
# --- kind: noise ---
noise_base = 1.3
short_text = 1.6
# ... times this when the short text is about a topic ("Воду дайте!!!")
short_topic = 0.5
# at most this many words that are not prepositions, particles or numbers
short_words = 2
link = 1.5
phone = 1.0
topic_vs_noise = 0.5
# a private message to the page (item kind "message") is written to the
# authority: any appeal kind gains this ("Добрый день, у меня вопрос" there
# opens a question; under a post it is chatter)
private_message = 2.5
kind_temperature = 1.5
# --- category ---
category_min = 1.0
fallback_category = other
# With a trained model: where the model is sure of no category, a lexicon
# category whose score reaches this is taken instead of the fallback (the
# lexicons know topics that the real training texts have few examples of).
# Chosen on the dev comments: category accuracy 0.615 without it, 0.646 at
# 2, 0.642 at 3, 0.635 at 5 (tools/classify_eval.py --real).
model_fallback_min = 2
fuzzy_factor = 0.8
# --- priority ---
critical_min = 2.0
high_min = 1.5
# --- municipality ---
place_min = 1.0

# Prepositions, conjunctions, particles and pronouns: they do not count as
# content words, and a word glued to one ("вподъезде", "надороге") is split.
[function]
в во на по с со к ко у о об обо от до из за для без под над при про через
между перед около возле вокруг мимо напротив вдоль среди после
и а но или да же ли бы то ни не нет нету уже еще вот вон так тоже также
только лишь даже просто ведь вообще это этот эта эти этого этой тот та те
я мы вы он она оно они мне нам вам нас вас их его ее им ним них нему ней
меня тебя тебе ты себя себе свой своя свои свою мой моя мои наш наша наши
ваш ваша ваши весь вся все всё всех всем который которая которые которых
что чтобы чем чего кто кого кому там тут здесь сюда туда
ну ой ах ох эх хм ага угу

# Correct words that look like misspellings of lexicon words: never matched
# as one ("порог" is not "дорог", "забота" is not "работа").
[known]
порог пороги порогом творог вывод выводы выводить забота заботы заботой
установка установки установку установить рыбак рыбаки сборы сбор место места
мост мосты шапка пачка точка почта почты почтой мусорщик собака собаки соседи
соседей дороже дорого дорогие дорогая дорогой дорогого дорогим плохо хорошо
работник работники работница приходят приходит проходит проходят уходят
делают сделают сделали скажите покажите подскажите говорят говорит пишут
писали звонили звоним ходили ходим живем живут жители жителей жителям
помещение помещения отношение решение решения мнение внимание внимания
понимание объявление заявление заявления сообщение сообщения
человек люди людей людям детей дети детям ребенок ребенка ребенку
бабушка бабушки дедушка мама мамы папа папы семья семьи семью
сегодня вчера завтра утром вечером ночью неделю неделя месяц месяца
года годы лет время времени минут минуты часов часа
администрация администрации администрацию глава главы главе
район района районе город города городе улица улицы улице поселок поселка
какой какая какие каким какого почему когда сколько зачем откуда
только теперь потом тогда опять снова всегда никогда иногда часто
сторона стороны стороне сторону напротив рядом около возле вокруг
вопрос вопросы вопросом ответ ответа ответы ответить ответьте
нормально нормальный нормальные понятно непонятно правильно
хотим хочу хотят хотелось можно нельзя нужно надо
большое большой большая маленький маленькая новый новая новые старый старая
первый второй третий третья четвертый пятый последний
беседа беседы повод повода пример примера причина причины
поселок поселка поселке поселку поселком поселков поселки поселках
качество качества качеству качеством коридор коридоре коридора коридору
поворот поворота повороте стоят стоит стоять полоска полоску продавать
течение течению течения жаловались грозят грозы стыдят пояс поясом
проводится проводят направить напрямую пропускает пропускают графику график
пробовали прокладки прокладка разрешает разрешают бараке барак комары
отвалилась сверкает молодежи молодежь экскурсовода колясками коляской
заранее тренируется разбирается трещит трещат

# Words before a settlement name that make an ambiguous name a place:
# "пос. Победа", "село Белое", "станица Ханская".  One-letter markers
# ("с.", "п.") count only when written with their dot.
[marker]
пос поселок посёлок п пгт ст станица ст-ца стц аул а х хут хутор с село
д деревня г город мкр микрорайон снт нп кп

# Prepositions of place: a topic word right after one (or after one and a
# grammar word) is a landmark, not what the text is about, and weighs
# `landmark` times as much ("яма возле школы", "мусор рядом с остановкой").
[landmark]
возле около рядом напротив мимо вдоль неподалеку недалеко близ вблизи
позади перед

[param]
landmark = 0.5

# Words before a street name: a place name after them is a street, not a
# place ("ул. Майкопская", "улица Гиагинская").
[street]
ул улица улице улицы улицу пер переулок переулке проспект пр просп пр-т
шоссе ш проезд бульвар б-р наб набережная площадь пл тупик

[param]
# Request and question phrases count fully among the first lead_words words
# (not counting grammar) of the lead sentence (the first with three such
# words: a greeting does not count), and later_sentence as much anywhere
# else; a question mark counts fully when it ends the lead sentence.
# "Трава по пояс, никто не косит, покосите!" is a complaint; "Просим
# покосить траву" a request; "…вонь на всю улицу. Куда смотрят?" a
# complaint, not a question.
later_sentence = 0.5
lead_words = 6
# --- category ---
# in choosing the category (not in whether there is one), words among the
# lead sentence's first lead_words count this much more: what a text is
# about usually comes first
lead_topic = 0.2
