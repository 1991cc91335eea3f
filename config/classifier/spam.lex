# classify_spam — advertising and spam.  A text whose score reaches
# `threshold` becomes noise whatever the classifiers before decided.  The
# score is the sum of the [spam] phrases found, plus `link` per link (plus
# the [domain] weight of its host), `phone` per phone number (two at most)
# and `mention` per mention (three at most).  A text already found to be an
# appeal about a clear topic needs `appeal_margin` more.
#
# Format: config/classifier/README.md.

[param]
threshold = 4
link = 1.5
phone = 1.5
mention = 0.5
appeal_margin = 2

[spam]
=продам = 3
=продаю = 3
=продается = 2.5
=продаются = 2.5
=куплю = 3
=скупаю = 3
=выкуп = 2
=сдам = 2.5
=сдаю = 2.5
=сниму = 2
посуточно = 2.5
в аренду = 1.5
недорого = 2
дешево = 1.5
доставка = 1
в наличии = 1.5
=заработок = 3
=заработать = 2.5
доход от = 3
пассивный доход = 4
удаленн* работ* = 3
работа на дому = 3.5
подработк* = 2.5
без вложений = 3.5
набор в команду = 3.5
казино = 4
букмекер* = 4
ставки на спорт = 4
выигрыш* = 2
крипт* = 3
биткоин* = 4
трейдинг* = 4
инвестиц* = 1.5
микрозайм* = 4
кредит без = 3.5
без отказа = 3
без справок = 3
одобрени* за = 3
промокод* = 4
скидк* = 1
акци* = 0.5
розыгрыш* = 2.5
подписывайтесь = 3
подпишись = 3
подписывайся = 3
переходи по ссылке = 3
переходите по ссылке = 3
по ссылке = 2
ссылка в профиле = 3.5
в шапке профиля = 3.5
в профиле = 2
пишите в лс = 3
пиши в лс = 3
в лс = 2
в личку = 2
в директ = 3
в вотсап = 2
в whatsapp = 2
в телеграм = 1.5
звоните = 1.5
гадани* = 4
таро = 3
приворот* = 4
порч* = 2.5
похуде* = 3
без диет = 3.5
ремонт холодильников = 3.5
ремонт стиральных = 3.5
выезд на дом = 2.5
услуги = 1
консультаци* онлайн = 2.5
бесплатн* консультаци* = 2
обучени* бесплатно = 2
отдам в добрые руки = 3
в добрые руки = 2.5

# Hosts of links.  A link counts `link`; its host adds this.
[domain shortener]
bit.ly = 2
clck.ru = 2
vk.cc = 1.5
tinyurl.com = 2
goo.gl = 2
cutt.ly = 2
t.ly = 2

[domain messenger]
t.me = 1.5
wa.me = 2
chat.whatsapp.com = 2
instagram.com = 1

# Official sites and pages: a citizen who links one is not advertising.
[domain official]
gosuslugi.ru = -3
gov.ru = -3
adygheya.ru = -3
maikop.ru = -2
vk.com = -1
