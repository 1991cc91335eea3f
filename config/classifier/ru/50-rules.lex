# classify_ru — context rules: the hard cases of the default scheme, where
# the same words mean different categories (docs/classifier.md, "hard
# cases").  A rule fires when one phrase of `if`, one of every `and`, and
# none of `unless` are in the text; its `then` adds weights to sections.

# Street lighting on a road is roads, in a yard or park improvement, in an
# entrance housing.
[rule lighting-on-road]
if = фонар* | освещени* | светильник* | не =горит | не =горят | темно | темнота | =освещения
and = =дорога | =дороги | =дорогу | =дороге | трасс* | шоссе | проезж* часть | перекрест* | пешеходн* переход* | объездн* | мост | тротуар* | улиц* | обочин* | остановк*
unless = двор | дворов* | придомов* | парк | сквер* | алле* | подъезд* | площадк*
then = category roads +3

[rule lighting-in-yard]
if = фонар* | освещени* | светильник* | не =горит | не =горят | темно | темнота
and = двор | дворов* | придомов* | детск* площадк* | площадк* | парк | сквер* | алле* | бульвар* | набережн*
unless = подъезд*
then = category improvement +3

[rule lighting-in-entrance]
if = свет | освещени* | лампочк* | лампа | лампы | не =горит | не =горят | темно | светильник*
and = в подъезд* | в подьезд* | подъезд* темно | лестничн* | тамбур* | на этаж* | этажах | на лестниц*
unless = двор | у подъезд* | возле подъезд*
then = category housing +4

# A power cut in a building is the grid (power), unless it is the
# entrance's lamp (above).
[rule power-outage]
if = !свет | отключ* свет | свет отключ* | !электричеств* | отключени* электр* | обесточ* | свет дали
unless = в подъезд* | лампочк*
then = category power +2

# Snow and ice: on a road roads, in a yard or park improvement, on a roof
# housing.
[rule snow-on-road]
if = снег* | сугроб* | снегопад* | наледь | гололед* | гололедиц* | =лед | =льда | не =чистят | не расчищ* | посыпа* | замело | заметает | каша
and = =дорога | =дороги | =дорогу | =дороге | трасс* | шоссе | проезж* часть | перекрест* | мост | тротуар* | улиц* | остановк* | =дорогах
unless = двор | дворов* | придомов* | крыш* | кровл* | парк | сквер*
then = category roads +3

[rule snow-in-yard]
if = снег* | сугроб* | снегопад* | наледь | гололед* | =лед | =льда | не =чистят | не расчищ* | посыпа* | каша
and = двор | дворов* | придомов* | парк | сквер* | детск* площадк* | алле* | территори*
unless = крыш* | кровл*
then = category improvement +3

[rule roof-ice]
if = сосульк* | наледь | снег* | =лед | =льда | глыб*
and = крыш* | кровл* | карниз* | козырьк*
then = category housing +3; priority high +1

# School heating is education; any trouble inside a school or kindergarten
# belongs to it.
[rule cold-school]
if = отоплени* | батаре* | холодн* | холодно | тепл* | мерзнут | замерзают | температур* | крыш* | протека* | туалет* | ремонт* | окна | окон | вода | воды | свет | света
and = школ* | детск* сад* | садик* | детсад* | гимнази* | =лицей | =лицее | в классе | в классах | группе | в группах
unless = возле школ* | около школ* | рядом со школ* | напротив школ* | у школ* | мимо школ*
then = category education +3.5

# A clinic's lift or roof is the clinic's.
[rule inside-clinic]
if = лифт* | крыш* | отоплени* | туалет* | ремонт* | холодно | пандус* | =лифт
and = поликлиник* | больниц* | фап | амбулатори* | роддом*
unless = возле поликлиник* | около поликлиник* | возле больниц* | около больниц*
then = category health +3

# A school or a clinic named only as a landmark ("яма возле школы").
[rule near-school]
if = возле школ* | около школ* | рядом со школ* | напротив школ* | у школ* | мимо школ* | возле детск* сад* | около детск* сад* | у детск* сад* | рядом с детск* сад* | возле садик* | около садик*
then = category education -3

[rule near-clinic]
if = возле поликлиник* | около поликлиник* | рядом с поликлиник* | напротив поликлиник* | возле больниц* | около больниц* | рядом с больниц* | у больниц* | у поликлиник*
then = category health -3

# Stray dogs are safety.
[rule stray-dogs]
if = собак* | =псы | =пес | =стая | =стаи | собач*
and = бродяч* | бездомн* | безнадзорн* | =стая | =стаи | напада* | кидаются | кусают | покусал* | укусил* | бегают | отлов* | бешен* | стаями | злые
then = category safety +3

# Fares are transport, not roads.
[rule fare]
if = проезд* | проездн*
and = стоимост* | оплат* | цена | ценник* | ценов* | льготн* | подорожа* | карт* | билет* | рубл* | плат* | =стоить | =стоит | =будет стоить
then = category transport +3; category roads -1.5

# Music and art schools are culture; sports schools are sport.
[rule arts-school]
if = музыкальн* школ* | художественн* школ* | школ* искусств* | музыкалк* | художк*
then = category culture +4; category education -2

[rule sports-school]
if = спортивн* школ* | спортшкол* | дюсш | сдюсшор*
then = category sport +4; category education -2

# School transport is the school's.
[rule school-bus]
if = школьн* автобус* | подвоз* детей | подвоз* школьник* | подвоз* учени*
then = category education +3

# Rubbish in a yard is still rubbish; cleaning a yard is improvement.
[rule yard-potholes]
if = ям | яма | ямы | яму | яме | ямой | ямами | ямах | асфальт* | выбоин*
and = двор | дворов* | придомов* | внутридворов*
unless = =дорога | =дороги | =дороге | трасс*
then = category improvement +2.5

# Water in a river or sea is ecology, not the water supply.
[rule river-water]
if = вода
and = река | речк* | водоем* | озер* | берег* | водохранилищ* | купаться
unless = !вода | кран* | квартир* | водопровод*
then = category ecology +2; category housing -1

# Emergency housing and relocation are social protection.
[rule relocation]
if = расселени* | переселени* | аварийн* жиль* | расселить | переселить
then = category social +2; category housing -1

# Electricity bills are housing (utility bills), power cuts are power.
[rule power-bill]
if = квитанци* | платежк* | счет* за | оплат* за | тариф* | перерасчет* | начислени*
and = свет | электричеств* | электроэнерги*
unless = !свет | отключ*
then = category housing +2; category power -1

# Gas bills and gas appliances stay gas.
[rule gas-smell]
if = запах газ* | пахнет газом | газом пахнет | утечк* газ* | воняет газом
then = category gas +3

# Burning leaves or rubbish is ecology.
[rule burning]
if = жгут | сжига* | палят | жгёт | жжет | горит
and = мусор* | листв* | листья | трав* | покрышк* | свалк* | пластик*
unless = не =горит
then = category ecology +2.5

# Traffic police and crossings near schools are roads.
[rule dangerous-crossing]
if = пешеходн* переход* | светофор* | лежач* полицейск* | зебр*
then = category roads +1

# A public toilet or a bench at a stop is the stop's.
[rule stop-pavilion]
if = остановк* | остановочн*
and = павильон* | навес* | лавочк* | скамейк*
then = category transport +2

# "Помогите" with a social topic is a request for help, not a complaint.
[rule help-request]
if = помогите | нужна помощь | прошу помочь | помочь
and = пособи* | выплат* | пенси* | инвалид* | многодетн* | малоимущ* | материальн* помощ* | льгот*
then = kind request +1.5

# A new or rebuilt building with defects is a construction matter, not the
# housing of the people in it.
[rule defects-of-new-building]
if = построил* | построен* | новое здание | новостро* | сдали | достро* | реконструкци* | после строительств*
and = трещин* | протека* | течет | фасад* | крыш* | разваливается | крыльц* | нарушени* | пандус*
then = category construction +3

# A sports ground's grass, pits and showers are the sports ground's.
[rule inside-sports-facility]
if = трава | бурьян* | ям | яма | ямы | яму | яме | ямой | ямами | ямах | вода | воды | душ | душев* | крыш* | протека* | освещени* | покрыти* | сломан* | заросл* | заросло
and = стадион* | спортзал* | спортивн* зал | фок | футбольн* поле | корт* | хоккейн* | бассейн* | спортплощадк* | спортивн* площадк*
then = category sport +3

# Gas bills are gas ("its cost", says the scheme); other utility bills
# are housing.
[rule gas-bill]
if = газ | газов*
and = квитанци* | счет* | начисл* | оплат* | тариф* | норматив* | счетчик*
then = category gas +2

# Citizens asking one another about leisure ("Кто знает, во сколько салют?",
# "Кто на концерт идёт?") talk among themselves: nothing for the authority
# to act on.  A problem word keeps it an appeal.
[rule community-leisure-question]
if = кто знает | кто-нибудь знает | кто-то знает | кто видел | кто идет | кто идёт | кто поедет | кто пойдет | кто пойдёт | кто-нибудь | кто нибудь | кто на | народ | интересно
and = салют* | концерт* | праздник* | фейерверк* | кафе | ресторан* | ярмарк* | фестивал* | выступлени* | кино | фильм* | матч* | игра | игров* | гулян*
unless = не работа* | сломан* | нет | не было | отменили | перенесли | опасн* | грязь | мусор* | шум* | жалоб* | безобрази*
then = kind noise +3.5
