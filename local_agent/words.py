# ruff: noqa: E501  (a catalogue of sentences: one per line reads best)
"""What the agent's own page says, in the languages the app's pages offer (English, Russian).

Each text has a key; :func:`say` fills its ``{name}`` holes. The page picks its language from the link the
app's Setup page gives (``?lang=ru``), else from the browser's ``Accept-Language``; the form carries it on
to the answer. Pairing refusals are keyed too (:class:`local_agent.pairing.PairingError` carries its key),
the cloud's by the refusal's code, so a Russian page never shows an English reason.
"""

from __future__ import annotations

LANGS = ("en", "ru")

EN: dict[str, str] = {
    "title": "QuickBooks agent for Bitrix24",
    "tab_title": "QuickBooks agent",
    "portal": "Bitrix24",
    "link": "Link to the app",
    "company_file": "QuickBooks company file",
    "last_run": "Last Web Connector run",
    "last_problem": "Last problem",
    "none_yet": "none yet",
    "none": "none",
    "file_unseen": "not seen yet: it shows after the first run",
    "link.online": "online",
    "link.offline": "offline: the app cannot be reached now; the agent keeps trying",
    "link.revoked": "revoked in Bitrix24: pair the agent again",
    "link.connecting": "connecting…",
    "link.starting": "starting",
    "add_heading": "Add it to the Web Connector",
    "add_steps": "Download the file, then in QuickBooks open File → Update Web Services, click <b>Add an application</b>, choose the file and allow access when QuickBooks asks. Type the password shown at pairing into the Password column, tick Auto-Run and set Every_Min to 1–5 minutes.",
    "download": "Download qb-bitrix24.qwc",
    "pair_other": "To pair with another Bitrix24, stop the agent and run <code>qb-agent pair</code>.",
    "unpaired": "This agent is not paired yet. In Bitrix24 open the QuickBooks app's <b>Setup</b> page, click <b>Get a pairing code</b>, and paste it here (the link on that page fills it in).",
    "code_label": "Pairing code",
    "server_label": "The app's address (shown beside the code)",
    "pair_button": "Pair this agent",
    "server_note": "The link also named an app address. It was not filled in: a link on any web page could send this PC's QuickBooks to someone else's server. Type the address shown beside the code on the app's Setup page in Bitrix24.",
    "paired_already": "This agent is paired already.",
    "failed": "Pairing failed: {reason}",
    "paired": "Paired with {portal}.",
    "password_once": "The Web Connector password — type it into the Web Connector's Password column. It is shown only now; pairing again makes a new one.",
    # pairing refusals (local_agent.pairing and the cloud's codes)
    "pair.not_address": "{shown} is not the app's address: copy the https://… address shown beside the pairing code.",
    "pair.empty_address": "An empty address is not the app's address: copy the https://… address shown beside the pairing code.",
    "pair.https": "The app's address must start with https://, not http://: try https://{netloc}.",
    "pair.empty_code": "The pairing code is empty; copy it from the app's setup page in Bitrix24.",
    "pair.certificate": "Could not connect securely to {host}: its certificate could not be checked. Check the address; if it is right, ask whoever runs your network whether it inspects secure connections.",
    "pair.unreachable": "Could not reach {host}: check the address and the internet connection, then try again.",
    "pair.refused": "The server refused the pairing code (HTTP {status}).",
    "pair.incomplete": "The server's answer to pairing was incomplete; is this the right server address?",
    "pair.unsafe_link": "The server gave an unsafe link address: {reason}",
    "pair.paired_already": "This agent is paired already; to pair it again, stop it and run qb-agent pair.",
    "pair.server.too_many_attempts": "Too many wrong pairing codes; wait ten minutes and try again.",
    "pair.server.bad_code": "A pairing code is letters and digits, as shown on the app's setup page.",
    "pair.server.unknown_code": "Unknown pairing code; copy it again from the setup page.",
    "pair.server.used_code": "This pairing code was already used; make a new one.",
    "pair.server.expired_code": "This pairing code has expired; make a new one.",
    "pair.server.not_installed": "The app is not installed on this Bitrix24 any more; install it, then make a new code.",
}

RU: dict[str, str] = {
    "title": "Агент QuickBooks для Битрикс24",
    "tab_title": "Агент QuickBooks",
    "portal": "Битрикс24",
    "link": "Связь с приложением",
    "company_file": "Файл компании QuickBooks",
    "last_run": "Последний запуск Web Connector",
    "last_problem": "Последняя проблема",
    "none_yet": "ещё не было",
    "none": "нет",
    "file_unseen": "ещё не виден: появится после первого запуска",
    "link.online": "на связи",
    "link.offline": "нет связи: приложение сейчас недоступно; агент продолжает пытаться",
    "link.revoked": "отозвана в Битрикс24: подключите агент заново",
    "link.connecting": "подключается…",
    "link.starting": "запускается",
    "add_heading": "Добавьте его в Web Connector",
    "add_steps": "Скачайте файл, затем в QuickBooks откройте File → Update Web Services, нажмите <b>Add an application</b>, выберите файл и разрешите доступ, когда QuickBooks спросит. Введите пароль, показанный при подключении, в колонку Password, отметьте Auto-Run и задайте Every_Min от 1 до 5 минут.",
    "download": "Скачать qb-bitrix24.qwc",
    "pair_other": "Чтобы подключить другой Битрикс24, остановите агент и выполните <code>qb-agent pair</code>.",
    "unpaired": "Агент ещё не подключён. В Битрикс24 откройте страницу <b>Настройка</b> приложения QuickBooks, нажмите <b>Получить код подключения</b> и вставьте его сюда (ссылка на той странице заполнит его сама).",
    "code_label": "Код подключения",
    "server_label": "Адрес приложения (показан рядом с кодом)",
    "pair_button": "Подключить агент",
    "server_note": "В ссылке был и адрес приложения. Он не подставлен: ссылка с любой веб-страницы могла бы отправить QuickBooks этого компьютера на чужой сервер. Введите адрес, показанный рядом с кодом на странице «Настройка» приложения в Битрикс24.",
    "paired_already": "Этот агент уже подключён.",
    "failed": "Подключиться не удалось: {reason}",
    "paired": "Подключено к {portal}.",
    "password_once": "Пароль для Web Connector — введите его в колонку Password в Web Connector. Он показан только сейчас; новое подключение создаст новый.",
    "pair.not_address": "{shown} — не адрес приложения: скопируйте адрес https://…, показанный рядом с кодом подключения.",
    "pair.empty_address": "Пустой адрес — не адрес приложения: скопируйте адрес https://…, показанный рядом с кодом подключения.",
    "pair.https": "Адрес приложения должен начинаться с https://, а не с http://: попробуйте https://{netloc}.",
    "pair.empty_code": "Код подключения пуст; скопируйте его со страницы настройки приложения в Битрикс24.",
    "pair.certificate": "Не удалось безопасно подключиться к {host}: его сертификат не прошёл проверку. Проверьте адрес; если он верный, спросите того, кто обслуживает вашу сеть, не проверяет ли она защищённые соединения.",
    "pair.unreachable": "Не удалось связаться с {host}: проверьте адрес и подключение к интернету, затем попробуйте снова.",
    "pair.refused": "Сервер не принял код подключения (HTTP {status}).",
    "pair.incomplete": "Ответ сервера на подключение неполон; это точно адрес приложения?",
    "pair.unsafe_link": "Сервер дал небезопасный адрес связи: {reason}",
    "pair.paired_already": "Этот агент уже подключён; чтобы подключить его заново, остановите его и выполните qb-agent pair.",
    "pair.server.too_many_attempts": "Слишком много неверных кодов; подождите десять минут и попробуйте снова.",
    "pair.server.bad_code": "Код подключения состоит из букв и цифр, как на странице настройки приложения.",
    "pair.server.unknown_code": "Такого кода подключения нет; скопируйте его со страницы настройки ещё раз.",
    "pair.server.used_code": "Этот код подключения уже использован; получите новый.",
    "pair.server.expired_code": "Срок этого кода подключения истёк; получите новый.",
    "pair.server.not_installed": "Приложение больше не установлено в этом Битрикс24; установите его и получите новый код.",
}

CATALOGS = {"en": EN, "ru": RU}


def pick(asked: str, accept_language: str) -> str:
    """The page's language: the one the link asks for, else the browser's first one we speak, else English."""
    if asked.lower()[:2] in CATALOGS:
        return asked.lower()[:2]
    ranked = []
    for i, part in enumerate(accept_language.split(",")):
        tag, _, quality = part.strip().partition(";q=")
        try:
            weight = float(quality) if quality else 1.0
        except ValueError:
            weight = 0.0
        ranked.append((-weight, i, tag.strip().lower()[:2]))
    for _, _, code in sorted(ranked):
        if code in CATALOGS:
            return code
    return "en"


def say(lang: str, key: str, **holes: str) -> str:
    """The text ``key`` in ``lang`` (English where a language lacks it), holes filled."""
    template = CATALOGS.get(lang, EN).get(key) or EN[key]
    return template.format(**holes) if holes else template
