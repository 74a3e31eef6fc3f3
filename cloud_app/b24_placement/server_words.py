# ruff: noqa: E501  (a catalogue of sentences: one per line reads best)
"""The texts the server writes (outcomes, reasons, fixes, notes, refusals) in the page's language.

The sync flows keep their words in English (logs, the timeline, the API); a page asks in its language
(``X-Lang``) and every message field of the answer passes :func:`say` on the way out. Each entry is an
English template with ``{name}`` holes and its translation: a hole matches any text; a hole whose name
starts with ``t_`` holds a text that is translated in turn (a reason inside "Failed: …"). A text no
template matches is tried sentence by sentence; what stays unmatched is shown as written and kept in
:data:`MISSED` (the tests fail on any).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from typing import Any

from shared.qbxml.status import CODES, HRESULTS

# the answer's fields that carry words for a person; codes (``error``, ``state``) and data are left alone
MESSAGE_KEYS = frozenset(
    {"outcome", "reason", "fix", "problems", "notes", "message", "attention", "what_to_do", "summary",
     "detail"}  # fmt: skip
)

KINDS_RU = {"Invoice": "Счёт", "Estimate": "Смета", "Sales order": "Заказ", "SalesOrder": "Заказ"}
_CREATED = {"Invoice": "создан", "Estimate": "создана", "Sales order": "создан"}
_UPDATED = {"Invoice": "обновлён", "Estimate": "обновлена", "Sales order": "обновлён"}
_ANOTHER = {"invoice": "ещё один счёт", "estimate": "ещё одну смету", "sales order": "ещё один заказ"}

RU: dict[str, str] = {
    # deal sync: outcomes (the timeline's words, cloud_app.sync.crm.timeline_text)
    **{f"{k} {{number}} created in QuickBooks{{amount}}": f"{v} {{number}} {_CREATED[k]} в QuickBooks{{amount}}"
       for k, v in KINDS_RU.items() if k in _CREATED},
    **{f"{k} {{number}} updated in QuickBooks{{amount}}": f"{v} {{number}} {_UPDATED[k]} в QuickBooks{{amount}}"
       for k, v in KINDS_RU.items() if k in _UPDATED},
    "{t_outcome} (the deal's QuickBooks fields could not be updated: {error})":
        "{t_outcome} (поля QuickBooks в сделке не обновились: {error})",
    "Failed: {t_reason}": "Ошибка: {t_reason}",
    "Not sent: {t_problems}": "Не отправлено: {t_problems}",
    # deal sync: refusals and failures
    "No QuickBooks agent is paired yet. Pair one on the app's setup page first.":
        "Агент QuickBooks ещё не подключён. Сначала подключите его на странице настройки приложения.",
    "No QuickBooks agent is paired yet.": "Агент QuickBooks ещё не подключён.",
    "Deal {deal} could not be read: {why}": "Не удалось прочитать сделку {deal}: {why}",
    "The first sync is creating this client's customer in QuickBooks right now.":
        "Первая синхронизация прямо сейчас создаёт этого клиента в QuickBooks.",
    "Sync the deal again once it has finished (the app page shows its progress).":
        "Синхронизируйте сделку снова, когда она закончится (ход виден на странице приложения).",
    "No such sync.": "Такой синхронизации нет.",
    "Choose an invoice, estimate, sales order or credit memo.": "Выберите счёт, смету, заказ или кредит-ноту.",
    "A credit memo is made only from the preview: open “Sync to QuickBooks”, choose Credit memo, check the "
    "amounts, then confirm.":
        "Кредит-нота создаётся только из просмотра: откройте «Синхронизировать с QuickBooks», выберите "
        "«Кредит-нота», проверьте суммы и подтвердите.",
    "This preview is more than 30 minutes old. Open “Sync to QuickBooks” again for a fresh one.":
        "Этому просмотру больше 30 минут. Откройте «Синхронизировать с QuickBooks» снова, чтобы получить свежий.",
    "The deal got a QuickBooks document after this preview was made.":
        "У сделки появился документ QuickBooks после этого просмотра.",
    "Open “Sync to QuickBooks” again to see it and choose what to do.":
        "Откройте «Синхронизировать с QuickBooks» снова, чтобы увидеть его и выбрать, что делать.",
    "Another sync of this deal is on its way to QuickBooks. Wait for it to finish.":
        "Другая синхронизация этой сделки уже идёт в QuickBooks. Дождитесь её окончания.",
    "This sync is already done.": "Эта синхронизация уже завершена.",
    "This sync has ended. Use Retry, or open “Sync to QuickBooks” again.":
        "Эта синхронизация закончилась. Нажмите «Повторить» или откройте «Синхронизировать с QuickBooks» снова.",
    "This sync is already on its way to QuickBooks.": "Эта синхронизация уже идёт в QuickBooks.",
    "This sync was already retried.": "Эту синхронизацию уже повторили.",
    "This sync is {state}; only failed ones are retried.":
        "Эта синхронизация в состоянии «{state}»; повторяются только неудавшиеся.",
    "QuickBooks customer “{name}” was linked to another Bitrix24 {what} after the preview.":
        "Клиент QuickBooks «{name}» после просмотра был связан с другой записью Битрикс24.",
    "Open “Sync to QuickBooks” again.": "Откройте «Синхронизировать с QuickBooks» снова.",
    "QuickBooks may have saved the document, but its answer was lost and QuickBooks could not be asked "
    "yet ({t_why}).":
        "QuickBooks, возможно, сохранил документ, но его ответ потерялся, а спросить QuickBooks пока не "
        "удалось ({t_why}).",
    "Retry when QuickBooks is open: the app checks QuickBooks first and never sends the document twice.":
        "Нажмите «Повторить», когда QuickBooks будет открыт: приложение сначала проверит QuickBooks и не "
        "отправит документ дважды.",
    "The document to resend is gone.": "Документа для повторной отправки больше нет.",
    "The deal changed since you confirmed it (customer, total or document type). "
    "Open “Sync to QuickBooks” again to check it and confirm.":
        "Сделка изменилась после вашего подтверждения (клиент, сумма или тип документа). Откройте "
        "«Синхронизировать с QuickBooks» снова, чтобы проверить её и подтвердить.",
    "Someone is editing this document in QuickBooks, so the app does not send the change again by itself "
    "(it would overwrite their edit). Sync the deal again once they have closed it.":
        "Кто-то редактирует этот документ в QuickBooks, поэтому приложение не отправляет изменение повторно "
        "само (оно затёрло бы их правку). Синхронизируйте сделку снова, когда документ закроют.",
    "Start the sync again.": "Запустите синхронизацию снова.",
    "QuickBooks did not return the document.": "QuickBooks не вернул документ.",
    "Try again.": "Попробуйте ещё раз.",
    "The deadline passed before the Web Connector ran it; nothing was sent to QuickBooks.":
        "Срок истёк до запуска Web Connector; в QuickBooks ничего не отправлено.",
    # deal sync: the plan's problems and notes
    "The deal has no client with a name. Add a company or contact to the deal.":
        "У сделки нет клиента с именем. Добавьте в сделку компанию или контакт.",
    "The deal has no products. Add product rows to the deal first.":
        "В сделке нет товаров. Сначала добавьте в сделку товарные позиции.",
    "Row {n}: price {rate} rounded to 5 decimal places for QuickBooks":
        "Строка {n}: цена {rate} округлена до 5 знаков после запятой для QuickBooks",
    "Row {n}: the product “{name}” has no QuickBooks item. {t_rest}":
        "Строка {n}: у товара «{name}» нет товара QuickBooks. {t_rest}",
    "Row {n}: a product row without a name. Give it a name in Bitrix24.":
        "Строка {n}: товарная позиция без названия. Дайте ей название в Битрикс24.",
    "Row {n} item {t_note}": "Строка {n}, товар: {t_note}",
    "Row {n} ({name}): {t_why}. Fix the row in Bitrix24.": "Строка {n} ({name}): {t_why}. Исправьте строку в Битрикс24.",
    "Row {n}: {t_why}": "Строка {n}: {t_why}",
    "Customer’s {t_note}": "Клиент, {t_note}",
    "{kind} {number} in QuickBooks is updated to match the deal (lines, amounts, customer).":
        "{t_kind} {number} в QuickBooks будет обновлён по сделке (строки, суммы, клиент).",
    "{kind} {number} already has payments recorded in QuickBooks, so it is not changed from Bitrix24. "
    "Change it in QuickBooks, or choose “Create another {lower}”.":
        "По документу «{t_kind} {number}» в QuickBooks уже есть платежи, поэтому из Битрикс24 он не "
        "меняется. Измените его в QuickBooks или выберите «Создать ещё один документ».",
    "This creates another {lower} for the deal; {docs} stays as it is.":
        "Для сделки будет создан ещё один документ; {docs} остаётся как есть.",
    "{kind} {number} is no longer in QuickBooks (deleted there); a new {lower} is created.":
        "{t_kind} {number} больше нет в QuickBooks (удалён там); будет создан новый документ.",
    "QuickBooks' books are closed through {closing}: a document dated {day} would fall in the closed "
    "period. Ask whoever keeps the books to move the closing date (QuickBooks: Company → Set Closing "
    "Date), then sync again.":
        "Книги QuickBooks закрыты по {closing}: документ от {day} попал бы в закрытый период. Попросите "
        "бухгалтера перенести дату закрытия (QuickBooks: Company → Set Closing Date), затем синхронизируйте "
        "снова.",
    "Sales rep: the sales rep “{rep}” is inactive in QuickBooks, so the document goes without one. "
    "Choose another in the app's Settings.":
        "Менеджер: менеджер «{rep}» неактивен в QuickBooks, поэтому документ уйдёт без менеджера. Выберите "
        "другого в параметрах приложения.",
    "Sales rep: the sales rep “{rep}” is no longer in QuickBooks, so the document goes without one. "
    "Choose another in the app's Settings.":
        "Менеджер: менеджера «{rep}» больше нет в QuickBooks, поэтому документ уйдёт без менеджера. "
        "Выберите другого в параметрах приложения.",
    "Sales rep: the sales rep chosen for this deal {t_why}, so the document goes without one. "
    "Choose another in the app's Settings.":
        "Менеджер: выбранный для сделки менеджер {t_why}, поэтому документ уйдёт без менеджера. Выберите "
        "другого в параметрах приложения.",
    # deal sync: the document's currency (cloud_app.sync.currency)
    "Currency: QuickBooks did not say which currencies it keeps, so a deal in {code} is not sent. Run the "
    "sync again in a minute.":
        "Валюта: QuickBooks не сообщил, какие валюты в нём ведутся, поэтому сделка в {code} не отправлена. "
        "Запустите синхронизацию снова через минуту.",
    "Currency: this deal is in {code}, but this QuickBooks company file keeps its books in {home} only "
    "(multicurrency is off). Turn multicurrency on in QuickBooks (Edit → Preferences → Multiple Currencies "
    "→ Company Preferences), or change the deal's currency to {home2} in Bitrix24, then sync again.":
        "Валюта: сделка в {code}, а этот файл компании QuickBooks ведёт учёт только в {home} (мультивалютность "
        "выключена). Включите её в QuickBooks (Edit → Preferences → Multiple Currencies → Company "
        "Preferences) или смените валюту сделки в Битрикс24 на {home2}, затем синхронизируйте снова.",
    "Currency: QuickBooks has no currency {code}. Add it in QuickBooks (Company → Manage Currency → Currency "
    "List), or change the deal's currency in Bitrix24, then sync again.":
        "Валюта: в QuickBooks нет валюты {code}. Добавьте её в QuickBooks (Company → Manage Currency → "
        "Currency List) или смените валюту сделки в Битрикс24, затем синхронизируйте снова.",
    "Currency: the currency {name} ({code}) is inactive in QuickBooks. Make it active there (Company → "
    "Manage Currency → Currency List), then sync again.":
        "Валюта: валюта «{name}» ({code}) неактивна в QuickBooks. Сделайте её активной (Company → Manage "
        "Currency → Currency List), затем синхронизируйте снова.",
    "Currency: QuickBooks has no exchange rate for {name} ({code}). Enter one in QuickBooks (Company → "
    "Manage Currency → Currency List), then sync again.":
        "Валюта: в QuickBooks нет курса для «{name}» ({code}). Введите его в QuickBooks (Company → Manage "
        "Currency → Currency List), затем синхронизируйте снова.",
    "Currency: the document is in {name} ({code}), at QuickBooks' rate of {rate} {home} per {code2}.":
        "Валюта: документ в валюте «{name}» ({code}) по курсу QuickBooks {rate} {home} за 1 {code2}.",
    "Currency: QuickBooks has no A/R account in {code} yet; it makes one with this first document.":
        "Валюта: в QuickBooks ещё нет счёта дебиторской задолженности в {code}; он будет создан с этим первым "
        "документом.",
    "Currency: QuickBooks' home currency is {home}, not what the app knew when this sync started. Open "
    "“Sync to QuickBooks” again.":
        "Валюта: основная валюта QuickBooks — {home}, а не та, что приложение знало при начале синхронизации. "
        "Откройте «Синхронизировать с QuickBooks» снова.",
    "Currency: the QuickBooks customer “{customer}” is in {theirs}, but this deal is in {code}, and "
    "QuickBooks keeps one currency per customer. Change the deal's currency in Bitrix24 to the customer's, "
    "then sync again.":
        "Валюта: клиент QuickBooks «{customer}» ведётся в валюте «{theirs}», а сделка в {code}, и у клиента "
        "QuickBooks может быть только одна валюта. Смените валюту сделки в Битрикс24 на валюту клиента, затем "
        "синхронизируйте снова.",
    # deal sync: the new customer's custom fields (cloud_app.sync.custom_fields)
    "Custom fields: QuickBooks did not say which custom fields it has, so the customer is not created. Run "
    "the sync again in a minute.":
        "Дополнительные поля: QuickBooks не сообщил, какие дополнительные поля в нём есть, поэтому клиент не "
        "создан. Запустите синхронизацию снова через минуту.",
    "Custom field “{name}”: QuickBooks has no such custom field and already keeps {n}, the most it can. "
    "Choose one it has in the app's Settings, or remove one in QuickBooks (open a customer in QuickBooks → "
    "Additional Info → Define Fields).":
        "Дополнительное поле «{name}»: такого поля в QuickBooks нет, а полей там уже {n} — больше QuickBooks "
        "не хранит. Выберите существующее поле в параметрах приложения или удалите одно в QuickBooks (откройте "
        "клиента в QuickBooks → Additional Info → Define Fields).",
    "Custom field “{name}”: QuickBooks has no such custom field and already keeps {n} for customers, the "
    "most it can. Choose one it has in the app's Settings, or remove one in QuickBooks (open a customer in "
    "QuickBooks → Additional Info → Define Fields).":
        "Дополнительное поле «{name}»: такого поля в QuickBooks нет, а полей для клиентов там уже {n} — "
        "больше QuickBooks не хранит. Выберите существующее поле в параметрах приложения или удалите одно в "
        "QuickBooks (откройте клиента в QuickBooks → Additional Info → Define Fields).",
    "Custom field “{name}” is added to QuickBooks' custom fields for customers.":
        "Дополнительное поле «{name}» будет добавлено в дополнительные поля клиентов QuickBooks.",
    "Custom field “{name}”: QuickBooks has it, but not for customers. Tick it for customers in QuickBooks "
    "(open a customer in QuickBooks → Additional Info → Define Fields), or choose another in the app's "
    "Settings.":
        "Дополнительное поле «{name}»: в QuickBooks оно есть, но не для клиентов. Отметьте его для клиентов "
        "в QuickBooks (откройте клиента в QuickBooks → Additional Info → Define Fields) или выберите другое "
        "в параметрах приложения.",
    "Custom field “{name}”: the value from Bitrix24 is {n} characters, and QuickBooks keeps at most {limit} "
    "in a custom field. Shorten it in Bitrix24, then sync again.":
        "Дополнительное поле «{name}»: значение из Битрикс24 длиной {n} символов, а QuickBooks хранит в "
        "дополнительном поле не больше {limit}. Сократите его в Битрикс24, затем синхронизируйте снова.",
    "Custom field “{name}”: written in Latin letters ({value}).":
        "Дополнительное поле «{name}»: записано латиницей ({value}).",
    # deal sync: inventory sites and units of measure (cloud_app.sync.inventory)
    "Inventory site: QuickBooks did not say whether it keeps inventory by site, so nothing is sent. Run the "
    "sync again in a minute.":
        "Склад: QuickBooks не сообщил, ведёт ли он запасы по складам, поэтому ничего не отправлено. Запустите "
        "синхронизацию снова через минуту.",
    "Inventory site: QuickBooks does not keep inventory by site (multiple locations are off), so the site "
    "“{site}” cannot be set. Turn them on in QuickBooks (Edit → Preferences → Items & Inventory → Advanced "
    "Inventory Settings), or remove the pipeline's site in the app's Settings.":
        "Склад: QuickBooks не ведёт запасы по складам (несколько складов выключено), поэтому склад «{site}» "
        "указать нельзя. Включите их в QuickBooks (Edit → Preferences → Items & Inventory → Advanced "
        "Inventory Settings) или уберите склад воронки в параметрах приложения.",
    "Inventory site: QuickBooks has no inventory site “{site}”. Add it in QuickBooks (Lists → Inventory Site "
    "List), or choose another in the app's Settings.":
        "Склад: в QuickBooks нет склада «{site}». Добавьте его в QuickBooks (Lists → Inventory Site List) или "
        "выберите другой в параметрах приложения.",
    "Inventory site: the site “{site}” is inactive in QuickBooks. Make it active there (Lists → Inventory "
    "Site List), or choose another in the app's Settings.":
        "Склад: склад «{site}» неактивен в QuickBooks. Сделайте его активным (Lists → Inventory Site List) "
        "или выберите другой в параметрах приложения.",
    "Inventory site: no line is an inventory item in QuickBooks, so “{site}” is not set.":
        "Склад: ни одна строка не является складским товаром в QuickBooks, поэтому склад «{site}» не указан.",
    "Row {n}: the item “{item}” has no unit of measure in QuickBooks, so the line goes without one.":
        "Строка {n}: у товара «{item}» в QuickBooks нет единиц измерения, поэтому строка уйдёт без единицы.",
    "Row {n}: “{unit}” is not one of the units of the item “{item}” in QuickBooks (its set “{kept}”: "
    "{units}). Choose another in the app's Settings, or add it to the set in QuickBooks (Lists → U/M Set "
    "List).":
        "Строка {n}: «{unit}» не входит в единицы товара «{item}» в QuickBooks (его набор «{kept}»: {units}). "
        "Выберите другую в параметрах приложения или добавьте её в набор в QuickBooks (Lists → U/M Set List).",
    "is inactive in QuickBooks": "неактивен в QuickBooks",
    "is no longer in QuickBooks": "больше не существует в QuickBooks",
    # names and texts made to fit QuickBooks (cloud_app.sync.text, .names, .customers)
    "{t_field}: {t_note}": "{t_field}: {t_note}",
    "shortened to {n} characters (the most QuickBooks keeps for the {t_field})":
        "сокращено до {n} символов (больше QuickBooks не хранит в поле «{t_field}»)",
    "transliterated to Latin letters (QuickBooks cannot store them as written)":
        "записано латиницей (QuickBooks не хранит эти буквы как есть)",
    "accents QuickBooks cannot store were removed": "убраны диакритические знаки, которые QuickBooks не хранит",
    "characters QuickBooks cannot store (emoji, symbols, other scripts) were removed":
        "убраны символы, которые QuickBooks не хранит (эмодзи, значки, другие алфавиты)",
    "the {t_field} “{text}” has no characters QuickBooks can store; enter it in Latin letters":
        "в поле «{t_field}» («{text}») нет символов, которые QuickBooks может сохранить; введите его латиницей",
    "“:” replaced by “-” (QuickBooks uses a colon between a record and its sub-record)":
        "«:» заменено на «-» (QuickBooks отделяет двоеточием запись от её подзаписи)",
    "Name: “{name}” is taken in QuickBooks by another list; using “{other}”":
        "Имя: «{name}» в QuickBooks уже занято другим списком; используется «{other}»",
    "Name: “{name}” belongs to another Bitrix24 record; using “{other}”":
        "Имя: «{name}» принадлежит другой записи Битрикс24; используется «{other}»",
    "Name: “{name}” belongs to another customer whose name starts the same way; using “{other}”":
        "Имя: «{name}» принадлежит другому клиенту с таким же началом имени; используется «{other}»",
    "Name: the company has no name; give it one in Bitrix24 before syncing":
        "Имя: у компании нет названия; задайте его в Битрикс24 перед синхронизацией",
    "Name: the contact has no first or last name; add one in Bitrix24 before syncing":
        "Имя: у контакта нет ни имени, ни фамилии; добавьте их в Битрикс24 перед синхронизацией",
    "{t_field}: “{original}” shortened to “{short}”": "{t_field}: «{original}» сокращено до «{short}»",
    # the contact and company tabs (cloud_app.party_tab)
    "This record has no name QuickBooks could use.": "У этой записи нет имени, которое мог бы взять QuickBooks.",
    "QuickBooks customer names are at most {n} characters; shorten “{name}”.":
        "Имя клиента QuickBooks — не больше {n} символов; сократите «{name}».",
    "QuickBooks customer “{name}” is already linked to Bitrix24 {what} {id}; one customer is linked to one "
    "record.":
        "Клиент QuickBooks «{name}» уже связан с записью Битрикс24 ({t_what} {id}); один клиент связан с "
        "одной записью.",
    "Linked to {name}.": "Связано с {name}.",
    "QuickBooks has no customer named “{name}”.": "В QuickBooks нет клиента с именем «{name}».",
    "QuickBooks customer “{name}” may be another record: this record's name was shortened to {n} characters "
    "to look it up. Type the customer's exact name to link it, or create a customer of this record's own.":
        "Клиент QuickBooks «{name}» может быть другой записью: имя этой записи для поиска сокращено до {n} "
        "символов. Введите точное имя клиента, чтобы связать, или создайте для этой записи своего клиента.",
    "Creating “{name}” in QuickBooks{t_why}.": "Создаём «{name}» в QuickBooks{t_why}.",
    " ({t_note})": " ({t_note})",
    "company": "компания",
    "contact": "контакт",
    # the first sync (cloud_app.initial_sync, cloud_app.sync.matching)
    "That QuickBooks record is not one of this match's candidates.":
        "Эта запись QuickBooks не входит в варианты этого сопоставления.",
    "“{name}” was linked to another Bitrix24 {what} meanwhile; choose another.":
        "«{name}» тем временем связан с другой записью Битрикс24; выберите другой вариант.",
    "No such match waits for a decision.": "Такое сопоставление не ждёт решения.",
    "{n} QuickBooks items have this name": "Товаров QuickBooks с этим именем: {n}",
    "{t_reason} (vendors)": "{t_reason} (поставщики)",
    # refusals of the page API (cloud_app.web)
    "Only a Bitrix24 administrator can start the first sync.":
        "Запустить первую синхронизацию может только администратор Битрикс24.",
    "Only a Bitrix24 administrator can decide the first sync's matches.":
        "Решать сопоставления первой синхронизации может только администратор Битрикс24.",
    "Only a Bitrix24 administrator can manage agents.": "Управлять агентами может только администратор Битрикс24.",
    "Only a Bitrix24 administrator can change the sync settings.":
        "Менять параметры синхронизации может только администратор Битрикс24.",
    "Only a Bitrix24 administrator can pair an agent.": "Подключить агент может только администратор Битрикс24.",
    "kind is Invoice, Estimate or SalesOrder.": "Тип документа: счёт, смета или заказ.",
    "Not found": "Не найдено",
    # a Web Connector session, as the agent sums it up (local_agent.soap.session)
    **{f"{r} request{rs}, {e} error{es}": f"запросов: {r}, ошибок: {e}"
       for r, rs in (("{requests}", "s"), ("1", "")) for e, es in (("{errors}", "s"), ("1", ""))},
    "{t_summary} — {t_error}": "{t_summary} — {t_error}",
    "QuickBooks connection error {code}": "Ошибка связи с QuickBooks {code}",
    "Check that QuickBooks is running with the right file.": "Проверьте, что QuickBooks запущен с нужным файлом.",
    "QuickBooks status {code}": "Код состояния QuickBooks {code}",
    "Processed with a warning; check it.": "Обработано с предупреждением; проверьте.",
    "QuickBooks had an internal problem. Try again later; if it persists, run Verify Data.":
        "У QuickBooks внутренняя ошибка. Попробуйте позже; если повторяется, запустите Verify Data.",
    "See QuickBooks' message.": "См. сообщение QuickBooks.",
    "See the message from QuickBooks.": "См. сообщение QuickBooks.",
    "{t_fix} It failed {n} times; retry it by hand when the cause is fixed.":
        "{t_fix} Не удалось {n} раз; повторите вручную, когда причина будет устранена.",
}

# QuickBooks' status codes and connection errors as cloud_app.sync.failures explains them
STATUS_RU: dict[str, str] = {
    "Nothing matched; this is not an error.": "Ничего не найдено; это не ошибка.",
    "A query request did not find a matching object in QuickBooks": "Запрос не нашёл подходящей записи в QuickBooks",
    "The query was only partly completed: some requested objects were not found":
        "Запрос выполнен частично: некоторые записи не найдены",
    "Use what came back; the missing records may have been deleted in QuickBooks.":
        "Используйте то, что пришло; недостающие записи, возможно, удалены в QuickBooks.",
    "The request was processed but some returned data was dropped":
        "Запрос обработан, но часть возвращённых данных отброшена",
    "The record was saved; refresh it from QuickBooks to see all of its fields.":
        "Запись сохранена; обновите её из QuickBooks, чтобы увидеть все поля.",
    "QuickBooks reported an internal error": "QuickBooks сообщил о внутренней ошибке",
    "Try again later. If it keeps happening, run File > Utilities > Verify Data in QuickBooks.":
        "Попробуйте позже. Если повторяется, запустите в QuickBooks File > Utilities > Verify Data.",
    "The given object ID in a field is invalid": "Ссылка на запись QuickBooks недействительна",
    "A linked record no longer exists in QuickBooks. Re-link it (or let the next sync re-read it).":
        "Связанной записи больше нет в QuickBooks. Свяжите заново (или дождитесь, пока следующая "
        "синхронизация перечитает её).",
    "A value could not be converted (amount, quantity or date)":
        "Значение не удалось преобразовать (сумма, количество или дата)",
    "Correct the number or date named in the message.": "Исправьте число или дату, названные в сообщении.",
    "A value is out of the range QuickBooks accepts": "Значение вне допустимого для QuickBooks диапазона",
    "Correct the amount or date named in the message; it is too large or too small.":
        "Исправьте сумму или дату, названные в сообщении: она слишком велика или мала.",
    "A string is too long for its QuickBooks field": "Текст слишком длинный для поля QuickBooks",
    "Shorten the text named in the message (QuickBooks limits, e.g. names to 41 characters).":
        "Сократите текст, названный в сообщении (у QuickBooks есть пределы, например имя — 41 символ).",
    "The name of the list element is already in use": "Это имя в списках QuickBooks уже занято",
    "Customers, vendors, employees and other names share one name list in QuickBooks. "
    "Link to the existing record or rename one of them.":
        "Клиенты, поставщики, сотрудники и прочие имена в QuickBooks — один общий список. Свяжите с "
        "существующей записью или переименуйте одну из них.",
    "The object specified in the request cannot be found": "Запись из запроса не найдена",
    "The record was deleted or merged in QuickBooks. Re-link it.":
        "Запись удалена или объединена в QuickBooks. Свяжите заново.",
    "There is an invalid reference to a QuickBooks list record in the transaction":
        "Документ ссылается на несуществующую запись списка QuickBooks",
    "Create or link the customer, item, terms or sales rep named in the message.":
        "Создайте или свяжите клиента, товар, условия оплаты или менеджера, названные в сообщении.",
    "A required element is missing": "Не заполнено обязательное поле",
    "Fill in the field named in the message.": "Заполните поле, названное в сообщении.",
    "The record could not be modified: it is in use": "Запись нельзя изменить: она занята",
    "Someone has the record open in QuickBooks. It will be retried automatically.":
        "Кто-то открыл запись в QuickBooks. Попытка повторится автоматически.",
    "The record is locked by another user": "Запись заблокирована другим пользователем",
    "The record is being modified by another user": "Запись изменяет другой пользователь",
    "Another QuickBooks user is editing it. It will be retried automatically.":
        "Её редактирует другой пользователь QuickBooks. Попытка повторится автоматически.",
    "QuickBooks could not save the record": "QuickBooks не смог сохранить запись",
    "QuickBooks rejected the change; its reason follows in the message.":
        "QuickBooks отклонил изменение; причина — в сообщении.",
    "The provided edit sequence is out-of-date": "Запись изменилась после чтения",
    "The record changed in QuickBooks after it was read; it is re-read and applied again.":
        "Запись изменилась в QuickBooks после чтения; она перечитывается, и изменение применяется снова.",
    "A field has an invalid value or a QuickBooks business rule failed":
        "Недопустимое значение поля или нарушено правило QuickBooks",
    "Correct the value named in the message (for example an over-applied payment).":
        "Исправьте значение, названное в сообщении (например, платёж больше суммы счёта).",
    "The request was not processed because an earlier request failed":
        "Запрос не обработан, потому что не удался предыдущий",
    "It will be sent again on its own.": "Он будет отправлен снова автоматически.",
    "This feature is not enabled or not available in this QuickBooks":
        "Эта возможность выключена или недоступна в этой версии QuickBooks",
    "Turn the feature on in QuickBooks (Edit > Preferences) or switch this sync off in settings.":
        "Включите её в QuickBooks (Edit > Preferences) или выключите эту синхронизацию в параметрах.",
    "Insufficient permission level to perform this action": "Недостаточно прав для этого действия",
    "The QuickBooks user the Web Connector runs as needs more rights (Company > Users).":
        "Пользователю QuickBooks, от имени которого работает Web Connector, нужно больше прав (Company > Users).",
    "The application has no permission to access personal data": "У приложения нет доступа к личным данным",
    "In QuickBooks, Edit > Preferences > Integrated Applications: allow access to personal data.":
        "В QuickBooks: Edit > Preferences > Integrated Applications — разрешите доступ к личным данным.",
    "QuickBooks could not parse the request (element order, unknown element, bad value, too long, or a "
    "character it cannot store)":
        "QuickBooks не смог разобрать запрос (порядок полей, неизвестное поле, неверное значение, слишком "
        "длинный текст или символ, который он не хранит)",
    "This is a bug in the request; report it.": "Это ошибка в запросе; сообщите о ней.",
    "Could not access QuickBooks": "Нет доступа к QuickBooks",
    "Make sure QuickBooks is running on this PC.": "Убедитесь, что QuickBooks запущен на этом компьютере.",
    "Could not start QuickBooks": "Не удалось запустить QuickBooks",
    "Open QuickBooks and the company file, then run again.": "Откройте QuickBooks и файл компании, затем запустите снова.",
    "The company file is open in a different mode (single/multi-user)":
        "Файл компании открыт в другом режиме (одно- или многопользовательском)",
    "Switch QuickBooks to the mode the Web Connector expects, or close other users.":
        "Переключите QuickBooks в режим, который ожидает Web Connector, или закройте сеансы других пользователей.",
    "A dialog box is open in QuickBooks": "В QuickBooks открыто диалоговое окно",
    "Close the open window in QuickBooks.": "Закройте открытое окно в QuickBooks.",
    "This application has not accessed this company file before": "Это приложение ещё не обращалось к этому файлу компании",
    "Log in to QuickBooks as Admin and authorize the application.":
        "Войдите в QuickBooks как Admin и разрешите приложению доступ.",
    "This application is not allowed to access this company file": "Этому приложению запрещён доступ к файлу компании",
    "In QuickBooks, Edit > Preferences > Integrated Applications: allow it.":
        "В QuickBooks: Edit > Preferences > Integrated Applications — разрешите его.",
    "The QuickBooks user denied access": "Пользователь QuickBooks отказал в доступе",
    "Authorize the application in QuickBooks.": "Разрешите приложению доступ в QuickBooks.",
    "Another application has the file open in single-user mode":
        "Другое приложение открыло файл в однопользовательском режиме",
    "Close the other application or switch to multi-user mode.":
        "Закройте другое приложение или переключитесь в многопользовательский режим.",
    "QuickBooks did not finish starting": "QuickBooks ещё не запустился до конца",
    "Wait a moment; it will be retried.": "Подождите немного; попытка повторится.",
    "{t_meaning}. {message}": "{t_meaning}. {message}",
}

# why a portal needs attention (cloud_app.b24.errors.ATTENTION_TEXT)
ATTENTION_RU: dict[str, str] = {
    "Bitrix24 no longer accepts this app's authorization. Open the app in Bitrix24 once to reconnect it.":
        "Битрикс24 больше не принимает авторизацию приложения. Откройте приложение в Битрикс24 один раз, "
        "чтобы подключить его снова.",
    "Bitrix24 no longer accepts this app's authorization. A Bitrix24 administrator opening the app once "
    "reconnects it.":
        "Битрикс24 больше не принимает авторизацию приложения. Достаточно, чтобы администратор Битрикс24 "
        "один раз открыл приложение, и оно подключится снова.",
    "The app is not installed on this Bitrix24 any more.": "Приложение больше не установлено на этом Битрикс24.",
    "The app's subscription on this Bitrix24 has ended.": "Подписка на приложение на этом Битрикс24 закончилась.",
    "This server's Bitrix24 client id is not known to Bitrix24 (check QBB24_CLIENT_ID).":
        "Битрикс24 не знает client id этого сервера (проверьте QBB24_CLIENT_ID).",
    "Bitrix24 refused this server's client secret (check QBB24_CLIENT_SECRET).":
        "Битрикс24 отклонил client secret этого сервера (проверьте QBB24_CLIENT_SECRET).",
    "The Bitrix24 user who installed the app can no longer sign in (dismissed?). "
    "Open the app as another administrator.":
        "Пользователь Битрикс24, установивший приложение, больше не может войти (уволен?). Откройте "
        "приложение от имени другого администратора.",
    "The Bitrix24 user who installed the app may not use it any more.":
        "Пользователю Битрикс24, установившему приложение, больше нельзя им пользоваться.",
    "Token refresh refused: {code}": "Битрикс24 отказал в обновлении доступа: {code}",
}

# QuickBooks' fields in a bookkeeper's words (cloud_app.sync.field_words), lower-case and capitalised
FIELDS_RU: dict[str, str] = {
    "name": "имя", "company name": "название компании", "first name": "имя", "middle name": "отчество",
    "last name": "фамилия", "title (Mr./Ms.)": "обращение", "job title": "должность",
    "contact person": "контактное лицо", "phone": "телефон", "second phone": "второй телефон",
    "fax": "факс", "e-mail": "e-mail", "copy e-mail": "e-mail для копии", "billing address": "адрес для счетов",
    "shipping address": "адрес доставки", "line 1": "строка 1", "line 2": "строка 2", "line 3": "строка 3",
    "line 4": "строка 4", "line 5": "строка 5", "city": "город", "state": "штат", "postal code": "индекс",
    "country": "страна", "note": "заметка", "memo": "примечание", "description": "описание",
    "other field": "поле Other", "number": "номер", "account number": "номер счёта клиента",
}  # fmt: skip
_FIELDS = {**FIELDS_RU, **{k[:1].upper() + k[1:]: v[:1].upper() + v[1:] for k, v in FIELDS_RU.items()}}
_FIELDS["{t_part}, {t_rest}"] = "{t_part}, {t_rest}"  # "billing address, line 1"

CATALOGS: dict[str, dict[str, str]] = {"ru": {**RU, **STATUS_RU, **ATTENTION_RU, **_FIELDS}}

MISSED: set[str] = set()  # texts a page got untranslated (the tests fail on any)


def status_texts() -> Iterable[str]:
    """Every meaning and fix the QuickBooks classifier can give (shared.qbxml.status)."""
    for info in CODES.values():
        yield from (t for t in (info.meaning, info.action) if t and info.code != 0)
    for meaning, action in HRESULTS.values():
        yield from (meaning, action)


@cache
def _compiled(lang: str) -> list[tuple[re.Pattern[str], str, tuple[str, ...]]]:
    out = []
    for english, said in CATALOGS[lang].items():
        holes = tuple(re.findall(r"\{(\w+)\}", english))
        pattern = "".join(
            f"(?P<{part[1:-1]}>.*?)" if re.fullmatch(r"\{\w+\}", part) else re.escape(part)
            for part in re.split(r"(\{\w+\})", english)
            if part
        )
        out.append((re.compile(pattern + r"\Z", re.S), said, holes))
    # the most specific first: more fixed text wins over a looser template
    out.sort(key=lambda p: -len(re.sub(r"\(\?P<\w+>\.\*\?\)", "", p[0].pattern)))
    return out


def _fill(template: str, values: dict[str, str]) -> str:
    def hole(m: re.Match[str]) -> str:
        return values.get(m.group(1), m.group(0))

    return re.sub(r"\{(\w+)\}", hole, template)


def _whole(text: str, lang: str, depth: int) -> str | None:
    for pattern, said, holes in _compiled(lang):
        found = pattern.match(text)
        if found is None:
            continue
        values: dict[str, str] = {}
        for hole in holes:
            value = found.group(hole)
            if hole.startswith("t_") and value.strip():
                value = _say(value, lang, depth + 1, record=False) or ""
                if not value:
                    break
            elif hole == "kind":
                values["t_kind"] = KINDS_RU.get(value, value)
            elif hole == "lower":
                values["t_lower"] = _ANOTHER.get(value, value)
            values[hole] = value
        else:
            return _fill(said, values)
    return None


def _say(text: str, lang: str, depth: int, *, record: bool) -> str | None:
    if depth > 6:
        return None
    whole = _whole(text, lang, depth)
    if whole is not None:
        return whole
    parts = [p for p in re.split(r"(?<=[.!?])\s+", text) if p]
    if len(parts) > 1:  # a run of sentences: each stretch of them one known text, the longest first
        said: list[str] = []
        at = 0
        while at < len(parts):
            for end in range(len(parts), at, -1):
                piece = _whole(" ".join(parts[at:end]), lang, depth) if end - at < len(parts) else None
                if piece is not None:
                    said.append(piece)
                    at = end
                    break
            else:
                break
        if at == len(parts):
            return " ".join(said)
    if record:
        MISSED.add(text)
    return None


def say(text: str, lang: str) -> str:
    """``text`` in ``lang`` (English, and any text no template knows, as written)."""
    code = (lang or "en").lower()[:2]
    if code not in CATALOGS or not text or not text.strip():
        return text
    return _say(text, code, 0, record=True) or text


def localize(data: Any, lang: str, *, key: str | None = None) -> Any:
    """An API answer with every message field (:data:`MESSAGE_KEYS`, at any depth) in ``lang``."""
    if isinstance(data, dict):
        return {k: localize(v, lang, key=k) for k, v in data.items()}
    if isinstance(data, list):
        return [localize(v, lang, key=key) for v in data]
    if isinstance(data, str) and key in MESSAGE_KEYS:
        return say(data, lang)
    return data
