"""Everything the bot says, by message id and language.

Adding a language is a translation of this table, nothing else: the flows only
ever ask for ``say(lang, "id", **params)``. A message missing in a language
falls back to English.
"""

from __future__ import annotations

# The privacy notice's version, recorded with each contact's consent; a new wording
# of "privacy" is a new version.
CONSENT_VERSION = "2026-12"

EN: dict[str, str] = {
    # first contact
    "privacy": (
        "Namaste! 🌼 This is {clinic}'s booking assistant.\n"
        "To book and remind you about sessions we keep your name, phone number, the "
        "patient's details, our chats and your bookings and payments. We never share them. "
        "You can ask {clinic} for a copy or to erase them at any time: reply *talk* "
        "(invoices and payments are kept as tax law requires). Is that OK?"
    ),
    "consent_yes": "Yes, continue",
    "consent_no": "No thanks",
    "consent_declined": (
        "No problem, we have not stored anything about you. "
        "Reply *hi* any time if you change your mind, or call {clinic_phone}."
    ),
    "ask_name": "Thank you! What is your name?",
    "bad_name": "Please reply with your name, for example *Asha Verma*.",
    "ask_for_whom": "Nice to meet you, {name}. Who are the sessions for?",
    "for_self": "Myself",
    "for_child": "My child",
    "for_other": "Someone else in my family",
    "ask_child_name": "What is your child's name?",
    "ask_other_name": "What is their name?",
    "bad_child_name": "Please reply with the name, for example *Aarav*.",
    "ask_dob": "And {name}'s date of birth? (for example 12/03/2019)",
    "bad_dob": "Please give the date of birth like *12/03/2019* (day/month/year).",
    "patient_added": "Thank you, {name} is registered. ✅",
    "patient_exists": "{name} is already registered with this number.",
    # menu
    "menu": "What would you like to do?",
    "menu_book": "Book a session",
    "menu_mine": "My appointments",
    "menu_family": "Add a family member",
    "menu_talk": "Talk to the clinic",
    "menu_pay": "Pay dues",
    "greeting_name": "Hello {name}! ",
    "restarted": "It's been a while, so let's start again.",
    # booking
    "ask_service": "Which therapy?",
    "service_line": "{name} — {minutes} min, {price}",
    "no_services": "Sorry, {clinic} has no sessions open for booking right now.",
    "ask_patient": "Who is this session for?",
    "someone_else": "Someone else",
    "ask_therapist": "With whom?",
    "any_therapist": "Any available therapist",
    "therapist_line": "{name} ({specialization})",
    "ask_day": 'Which day? Reply with a number or a day like "tomorrow" or "25 Nov".',
    "no_days": (
        "Sorry, there are no free times for {service} in the next {days} days. "
        "Reply *4* from the menu to talk to the clinic."
    ),
    "day_closed": "{day} there is nothing free.",
    "ask_time": "Free on {day}{part}:",
    "part_suffix": " in the {part}",
    "ask_time_hint": "Reply with a number or a time like *5pm*.",
    "time_taken_nearest": "{when} is not free. The nearest free times:",
    "beyond_horizon": "We can book up to {days} days ahead. Please choose an earlier day.",
    "in_the_past": "That day has already passed. Please choose a day from today on.",
    "confirm_booking": (
        "Please confirm:\n{service} for {patient}\nwith {therapist}, {when}\n{location} · {price}"
    ),
    "confirm": "Confirm",
    "change": "Change",
    "booked": (
        "✅ Booked! {number}\n{patient} · {service} · {when} · {therapist}\n"
        "{location} · {price}\n"
        "We'll remind you {reminders}.\nReply *menu* any time."
    ),
    "reminders_default": "before the session",
    # paying
    "pay_to_keep": (
        "💳 To keep this time, please pay {amount} by {until}. "
        "I'm sending you the payment link now."
    ),
    "pay_by_upi": "💳 Please pay {amount} by UPI; I'm sending the details now.",
    "paid_from_credit": "Paid from your package ({left} sessions left).",
    "dues_none": "You have nothing to pay right now. 🎉 Reply *menu* for options.",
    "dues_line": "• {patient}: {amount}",
    "dues_summary": "You owe {clinic}:\n{lines}\nTotal: {total}",
    "dues_pay_now": "Pay {total} now",
    "dues_link_coming": "I'm sending you a payment link for {total} now. 💳",
    "dues_upi_coming": "I'm sending you UPI details for {total} now. 💳",
    "dues_pay_at_clinic": (
        "You can pay {total} at the clinic's front desk (cash, card or UPI). Thank you!"
    ),
    "payment_link_booking": (
        "💳 {clinic}: pay {amount} for {patient}'s {service} ({number}) by {until} "
        "to keep the time: {url}"
    ),
    "payment_link_dues": "💳 {clinic}: pay {amount} here: {url}",
    "payment_upi": (
        "💳 Pay {amount} to {vpa} from any UPI app: {upi_url}\n"
        "{clinic} confirms it once the money arrives."
    ),
    "payment_receipt": (
        "✅ {clinic} received {amount}, thank you! Receipt {receipt}: {receipt_url}"
    ),
    "notice_hold_expired": (
        "{clinic} did not receive payment in time, so {patient}'s {service} on {when} "
        "({number}) was released. Reply *menu* to book again."
    ),
    "late_payment_rebooked": (
        "✅ {clinic} received your payment after the time had been released, and it was "
        "still free: {patient}'s {service} on {when} ({number}) is booked again."
    ),
    "late_payment_slot_gone": (
        "{clinic} received your payment of {amount}, thank you. It arrived after "
        "{patient}'s {service} on {when} ({number}) had been released, and that time is no "
        "longer available. Your money is safe: the clinic will refund it or move the session "
        "to another time, and will message you here."
    ),
    "slot_just_taken": "Sorry, that time was just taken. Free nearby:",
    # my appointments
    "no_upcoming": "You have no upcoming sessions. Reply *1* from the menu to book one.",
    "upcoming": "Your upcoming sessions:",
    "appointment_line": "{when} · {service} for {patient} ({number})",
    "manage": "{summary}\nWhat would you like to do?",
    "reschedule": "Reschedule",
    "cancel": "Cancel",
    "back": "Back to menu",
    "confirm_cancel": "Cancel {summary}?",
    "yes_cancel": "Yes, cancel it",
    "no_keep": "No, keep it",
    "cancelled": "Your session {number} is cancelled. The time is free for others now. ✅",
    "kept": "OK, your session stays booked.",
    "rescheduled": "✅ Moved! {number} is now {when} with {therapist}.",
    "confirm_reschedule": (
        "Please confirm the new time:\n{service} for {patient}\n{when} with {therapist}"
    ),
    "refused": "{reason}",
    "offer_talk": "Reply *talk* and the clinic will get in touch.",
    # asking the clinic to move a session inside the reschedule window
    "request_intro": "That's within {hours} hours, so the clinic needs to approve a change.",
    "request_ask_time": "Which time would suit you?",
    "request_any_time": "Any time that suits the clinic",
    "request_keep": "Keep the current time",
    "request_hint": "Or reply with a day and time, like *Thu 5pm*.",
    "request_reask": (
        "Please reply with a number from 1 to {count}, or a day and time like *Thu 5pm*."
    ),
    "request_not_free": "{when} is not free. The nearest free times:",
    "request_sent": "I've asked the clinic to move {number} to {when}; you'll hear back here.",
    "request_sent_any": (
        "I've asked the clinic to find another time for {number}; you'll hear back here."
    ),
    "request_pending": (
        "You've already asked to move {number}; the clinic will reply here. "
        "Reply *talk* if it's urgent."
    ),
    # global words
    "help": (
        "This is {clinic}'s booking assistant. Reply *menu* for options, *talk* to reach "
        "a person, or *stop* to stop messages.{phone_line}"
    ),
    "help_phone": "\nYou can also call us on {phone}.",
    "stopped": (
        "You won't get any more messages from {clinic} on {channel}. Reply *start* to turn "
        "them back on."
    ),
    "started": "Welcome back! Messages from {clinic} are on again. Reply *menu* for options.",
    "handoff": (
        "Thanks, we've asked someone at {clinic} to reply to you here. "
        "Reply *menu* to use the assistant again."
    ),
    "language": "Sorry, only English is available for now.",
    # a person at the clinic answering from the panel (services.messaging.handoff)
    "staff_reply": "{text}",
    "staff_follow_up": (
        "Hello {name}, {clinic} has a reply to your message. "
        "Please answer *yes* and we'll continue the chat here."
    ),
    "handed_back": "You're back with {clinic}'s assistant. Reply *menu* for options.",
    # messages the clinic sends on its own
    "reminder": ("⏰ Reminder: {patient} has {service} with {therapist} {when} ({number})."),
    "reminder_confirm": "I'll be there",
    "reminder_thanks": "Thank you, see you at {time}! ✅",
    "notice_booked": (
        "✅ {clinic} booked {service} for {patient} with {therapist}, {when} ({number}). "
        "Reply *menu* to see your sessions."
    ),
    "notice_moved": (
        "{clinic} moved {patient}'s {service} to {when} with {therapist} ({number}). "
        "Reply *menu* if that does not suit you."
    ),
    "notice_cancelled": (
        "{clinic} cancelled {patient}'s {service} on {when} ({number}). "
        "Reply *menu* to book another time."
    ),
    "notice_reschedule_declined": (
        "{clinic} could not move {patient}'s {service} on {when} ({number}): {note}\n"
        "The session stays as booked. Reply *talk* to reach the clinic."
    ),
    "dues_reminder": (
        "💳 {clinic}: you have {amount} outstanding for sessions. "
        "Reply *talk* if you have a question about it."
    ),
    # re-asks
    "choose_number": "Please reply with a number from 1 to {count}.",
    "choose_number_or_day": (
        'Please reply with a number from 1 to {count}, or a day like "tomorrow".'
    ),
    "choose_number_or_time": "Please reply with a number from 1 to {count}, or a time like *5pm*.",
    "three_misses": "Having trouble? Reply *talk* and someone from {clinic} will help.",
    "media_only": "Sorry, I can only read text messages. Please type your reply.",
    "slow_down": "You're sending messages very fast. Please wait a minute and try again.",
    "too_long": "That message is too long for me. Please reply in a few words.",
    # pages opened from the chat (receipt, UPI payment)
    "page_too_many_tries": "Too many tries from your connection. Please wait a minute.",
    # --- issue 12, part 3 (reaching a person; media and locations) -----------------------
    "handoff_open": (
        "Someone from {clinic} will reply here shortly (usually within {minutes} minutes)."
    ),
    "handoff_closed": "{clinic} opens again {when}; a colleague will reply then.",
    "opens_today": "today at {time}",
    "opens_tomorrow": "tomorrow at {time}",
    "opens_on": "on {day} at {time}",
    "handoff_ended": (
        "OK, you're back with the assistant and {clinic} no longer has this chat in its "
        "queue. Reply *talk* any time to reach a person."
    ),
    "media_voice": "We can't listen to voice notes here; a colleague at {clinic} will.",
    "media_payment": "Thanks, {clinic} will check the payment and confirm here.",
    "media_passed": "Thanks, we've passed it to {clinic}.",
    "media_location": "Thanks, we've kept the location you shared for {clinic}.",
    "media_unsupported": (
        "Sorry, we can't open that kind of file here. Please send a photo, a PDF or a "
        "voice note, or type your message."
    ),
    "note_voice_note": "Voice note in the chat: please listen and reply.",
    "note_payment_proof": (
        "Proof of payment in the chat: please check the payment and confirm it here."
    ),
    "note_document": "Photo or document in the chat: please look at it and reply.",
    # --- end of part 3 ---------------------------------------------------------------------
    # --- what an understood message does anywhere in the chat (issue 12, routing) ---
    "question_to_staff": (
        "I don't have the answer to that here, so I've passed your question to {clinic}. "
        "Someone will reply in this chat."
    ),
    "late_noted": (
        "Thanks for letting us know. I've told {clinic}; please come in as soon as you can."
    ),
    "thanks_reply": "You're welcome! 🙏",
    # issue 12, part 6 (people): name and date-of-birth corrections, cancel and
    # reschedule from one sentence, keeping a booking after a pause
    "name_updated": "Thank you, {name}. I've updated your name. ✅",
    "ask_new_dob": "What is {name}'s correct date of birth? (for example 12/03/2019)",
    "dob_updated": "Thank you, {name}'s date of birth is now {date}. ✅",
    "no_matching_session": "I couldn't find that session.",
    "choose_session": "Which session?",
    "confirm_cancel_free": (
        "Cancel {summary}?\nIt is more than {hours} hours away, so there is no charge."
    ),
    "cancel_too_late": (
        "{summary}\nSessions can be cancelled in chat up to {hours} hours before they start, "
        "so this one stays booked and is charged. Would you like to talk to the clinic?"
    ),
    "keep_booking": "Still want {service} for {patient} on {when}?",
    "keep_booking_yes": "Yes, book it",
    "keep_booking_no": "No",
    "booking_dropped": "OK, I haven't booked it.",
    # --- answers to patients' questions from the clinic's data (issue 12, part 4:
    # services.reports.answers) ---
    "answer_fee_intro": "Fees at {clinic}:",
    "answer_fee_override": "   with {therapist}: {minutes} min, {price}",
    "answer_address_intro": "{clinic} is here:",
    "answer_location": "{name}: {address}\n📍 {map_url}",
    "answer_phone": "📞 {phone}",
    "answer_hours_intro": "{clinic}'s opening hours:",
    "answer_hours_line": "{days}: {hours}",
    "answer_closed": "closed",
    "answer_closures_intro": "Closed on:",
    "answer_closure_line": "{day}{reason}",
    "answer_open_yes": "Yes, {clinic} is open on {day}: {hours}.",
    "answer_open_no": "Sorry, {clinic} is closed on {day}{reason}.",
    "answer_services_intro": "{clinic} offers:",
    "answer_online_tag": " (also online)",
    "answer_online_yes": "Yes, {clinic} offers online (video) sessions for:\n{services}",
    "answer_online_no": "Sorry, {clinic} offers sessions in person only, not online.",
    "answer_therapists_intro": "Our therapists:",
    "answer_female": "female",
    "answer_male": "male",
    "answer_speaks": "speaks {languages}",
    "answer_female_yes": "Yes, {clinic} has female therapists:\n{therapists}",
    "answer_male_yes": "Yes, {clinic} has male therapists:\n{therapists}",
    "answer_female_none": "Sorry, {clinic} has no female therapist. Our therapists:\n{therapists}",
    "answer_male_none": "Sorry, {clinic} has no male therapist. Our therapists:\n{therapists}",
    "answer_not_recorded": (
        "Our therapists:\n{therapists}\nI've asked {clinic} to answer your question here."
    ),
    "answer_pay_intro": "You can pay {clinic}:",
    "answer_pay_online": "online by card, UPI or net banking, with a payment link sent here",
    "answer_pay_upi": "by UPI to {vpa}",
    "answer_pay_desk": "in cash or by card at the front desk",
    "answer_cancellation": (
        "You can cancel a session here in the chat up to {hours} hours before it starts "
        "(reply *menu*, then *My appointments*); anything you paid for it is refunded. "
        "Closer to the time, please talk to the clinic."
    ),
    "answer_reschedule": (
        "You can move a session here in the chat up to {hours} hours before it starts; "
        "closer to the time, the clinic approves the change. "
        "New bookings need at least {notice} hours' notice."
    ),
    # --- end of answers (part 4) ---
}

# Hindi. Only some sentences are translated so far; the rest fall back to English.
HI: dict[str, str] = {
    "privacy": (
        "नमस्ते! 🌼 यह {clinic} का बुकिंग सहायक है।\n"
        "सेशन बुक करने और याद दिलाने के लिए हम आपका नाम, फ़ोन नंबर, मरीज़ की जानकारी, "
        "हमारी चैट और आपकी बुकिंग व भुगतान रखते हैं। हम इन्हें कभी किसी से साझा नहीं करते। "
        "आप कभी भी {clinic} से इनकी कॉपी माँग सकते हैं या इन्हें मिटवा सकते हैं: *talk* लिखें "
        "(बिल और भुगतान टैक्स क़ानून के अनुसार रखे जाते हैं)। क्या यह ठीक है?"
    ),
    "consent_yes": "हाँ, आगे बढ़ें",
    "consent_no": "नहीं, धन्यवाद",
    "consent_declined": (
        "कोई बात नहीं, हमने आपके बारे में कुछ भी नहीं रखा है। "
        "मन बदले तो कभी भी *hi* लिखें, या {clinic_phone} पर कॉल करें।"
    ),
    "late_payment_rebooked": (
        "✅ {clinic} को आपका भुगतान समय छूट जाने के बाद मिला, पर वह समय अभी भी खाली था: "
        "{patient} का {service}, {when} ({number}) फिर से बुक हो गया है।"
    ),
    "late_payment_slot_gone": (
        "{clinic} को आपका {amount} का भुगतान मिल गया, धन्यवाद। यह {patient} के {service}, "
        "{when} ({number}) का समय छूट जाने के बाद पहुँचा, और वह समय अब उपलब्ध नहीं है। "
        "आपका पैसा सुरक्षित है: क्लिनिक उसे लौटा देगा या सेशन को किसी दूसरे समय पर कर देगा, "
        "और आपको यहीं संदेश भेजेगा।"
    ),
    # --- issue 12, part 3 (reaching a person; media and locations) -----------------------
    "handoff": (
        "धन्यवाद, हमने {clinic} में किसी से यहाँ जवाब देने को कहा है। सहायक पर लौटने के लिए *menu* लिखें।"
    ),
    "handoff_open": "{clinic} से कोई जल्द ही यहाँ जवाब देगा (आम तौर पर {minutes} मिनट में)।",
    "handoff_closed": "{clinic} {when} फिर खुलेगा; तब कोई सहकर्मी जवाब देगा।",
    "opens_today": "आज {time} बजे",
    "opens_tomorrow": "कल {time} बजे",
    "opens_on": "{day} को {time} बजे",
    "handoff_ended": (
        "ठीक है, आप फिर से सहायक के साथ हैं और यह चैट अब {clinic} की कतार में नहीं है। "
        "किसी व्यक्ति से बात करने के लिए कभी भी *talk* लिखें।"
    ),
    "media_voice": "हम यहाँ वॉइस नोट नहीं सुन सकते; {clinic} से कोई सहकर्मी सुनेगा।",
    "media_payment": "धन्यवाद, {clinic} भुगतान की जाँच करके यहाँ पुष्टि करेगा।",
    "media_passed": "धन्यवाद, हमने इसे {clinic} तक पहुँचा दिया है।",
    "media_location": "धन्यवाद, आपकी भेजी लोकेशन हमने {clinic} के लिए रख ली है।",
    "media_unsupported": (
        "माफ़ कीजिए, हम यहाँ इस तरह की फ़ाइल नहीं खोल सकते। कृपया फ़ोटो, PDF या "
        "वॉइस नोट भेजें, या अपना संदेश लिखें।"
    ),
    "note_voice_note": "चैट में वॉइस नोट: कृपया सुनकर जवाब दें।",
    "note_payment_proof": "चैट में भुगतान का प्रमाण: कृपया भुगतान जाँचकर यहाँ पुष्टि करें।",
    "note_document": "चैट में फ़ोटो या दस्तावेज़: कृपया देखकर जवाब दें।",
    # --- end of part 3 ---------------------------------------------------------------------
    # --- what an understood message does anywhere in the chat (issue 12, routing) ---
    "question_to_staff": (
        "इसका जवाब मेरे पास नहीं है, इसलिए मैंने आपका सवाल {clinic} को भेज दिया है। कोई इसी चैट में जवाब देगा।"
    ),
    "late_noted": "बताने के लिए धन्यवाद। मैंने {clinic} को बता दिया है; जितनी जल्दी हो सके आ जाइए।",
    "thanks_reply": "आपका स्वागत है! 🙏",
    # issue 12, part 6 (people): name and date-of-birth corrections, cancel and
    # reschedule from one sentence, keeping a booking after a pause
    "name_updated": "धन्यवाद, {name}। आपका नाम बदल दिया गया है। ✅",
    "ask_new_dob": "{name} की सही जन्म तिथि क्या है? (जैसे 12/03/2019)",
    "dob_updated": "धन्यवाद, {name} की जन्म तिथि अब {date} है। ✅",
    "no_matching_session": "मुझे वह सेशन नहीं मिला।",
    "choose_session": "कौन सा सेशन?",
    "confirm_cancel_free": (
        "{summary} रद्द करें?\nसेशन में {hours} घंटे से ज़्यादा बाकी हैं, इसलिए कोई शुल्क नहीं लगेगा।"
    ),
    "cancel_too_late": (
        "{summary}\nसेशन शुरू होने से {hours} घंटे पहले तक ही चैट में रद्द किए जा सकते हैं, "
        "इसलिए यह सेशन बुक रहेगा और इसका शुल्क लगेगा। क्या आप क्लिनिक से बात करना चाहेंगे?"
    ),
    "keep_booking": "क्या आप अब भी {when} को {patient} के लिए {service} बुक करना चाहते हैं?",
    "keep_booking_yes": "हाँ, बुक करें",
    "keep_booking_no": "नहीं",
    "booking_dropped": "ठीक है, मैंने बुक नहीं किया।",
    # --- answers to patients' questions from the clinic's data (issue 12, part 4:
    # services.reports.answers) ---
    "service_line": "{name} — {minutes} मिनट, {price}",
    "therapist_line": "{name} ({specialization})",
    "answer_fee_intro": "{clinic} की फ़ीस:",
    "answer_fee_override": "   {therapist} के साथ: {minutes} मिनट, {price}",
    "answer_address_intro": "{clinic} का पता:",
    "answer_location": "{name}: {address}\n📍 {map_url}",
    "answer_phone": "📞 {phone}",
    "answer_hours_intro": "{clinic} के खुलने का समय:",
    "answer_hours_line": "{days}: {hours}",
    "answer_closed": "बंद",
    "answer_closures_intro": "इन दिनों बंद रहेगा:",
    "answer_closure_line": "{day}{reason}",
    "answer_open_yes": "हाँ, {clinic} {day} को खुला है: {hours}।",
    "answer_open_no": "माफ़ कीजिए, {clinic} {day} को बंद है{reason}।",
    "answer_services_intro": "{clinic} में ये सेवाएँ हैं:",
    "answer_online_tag": " (ऑनलाइन भी)",
    "answer_online_yes": "हाँ, {clinic} इनके लिए ऑनलाइन (वीडियो) सेशन देता है:\n{services}",
    "answer_online_no": "माफ़ कीजिए, {clinic} में सेशन सिर्फ़ क्लिनिक आकर होते हैं, ऑनलाइन नहीं।",
    "answer_therapists_intro": "हमारे थेरेपिस्ट:",
    "answer_female": "महिला",
    "answer_male": "पुरुष",
    "answer_speaks": "भाषाएँ: {languages}",
    "answer_female_yes": "हाँ, {clinic} में महिला थेरेपिस्ट हैं:\n{therapists}",
    "answer_male_yes": "हाँ, {clinic} में पुरुष थेरेपिस्ट हैं:\n{therapists}",
    "answer_female_none": (
        "माफ़ कीजिए, {clinic} में कोई महिला थेरेपिस्ट नहीं है। हमारे थेरेपिस्ट:\n{therapists}"
    ),
    "answer_male_none": ("माफ़ कीजिए, {clinic} में कोई पुरुष थेरेपिस्ट नहीं है। हमारे थेरेपिस्ट:\n{therapists}"),
    "answer_not_recorded": (
        "हमारे थेरेपिस्ट:\n{therapists}\nमैंने {clinic} से कहा है कि वे यहीं आपके सवाल का जवाब दें।"
    ),
    "answer_pay_intro": "आप {clinic} को ऐसे भुगतान कर सकते हैं:",
    "answer_pay_online": "ऑनलाइन कार्ड, UPI या नेट बैंकिंग से, यहाँ भेजे गए पेमेंट लिंक द्वारा",
    "answer_pay_upi": "UPI से {vpa} पर",
    "answer_pay_desk": "रिसेप्शन पर नकद या कार्ड से",
    "answer_cancellation": (
        "आप सेशन शुरू होने से {hours} घंटे पहले तक यहीं चैट में उसे रद्द कर सकते हैं "
        "(*menu* लिखें, फिर *My appointments*); उसके लिए किया गया भुगतान लौटा दिया जाता है। "
        "उसके बाद कृपया क्लिनिक से बात करें।"
    ),
    "answer_reschedule": (
        "आप सेशन शुरू होने से {hours} घंटे पहले तक यहीं चैट में उसका समय बदल सकते हैं; "
        "उसके बाद बदलाव क्लिनिक की मंज़ूरी से होता है। "
        "नई बुकिंग कम से कम {notice} घंटे पहले करनी होती है।"
    ),
    # --- end of answers (part 4) ---
}

CATALOGUES: dict[str, dict[str, str]] = {"en": EN, "hi": HI}


def say(lang: str, key: str, **params: object) -> str:
    catalogue = CATALOGUES.get(lang, EN)
    template = catalogue.get(key) or EN[key]
    return template.format(**params)


def numbered(options: list[str]) -> str:
    """``1. Speech Therapy Session`` lines: every choice answerable with one digit."""
    return "\n".join(f"{i}. {label}" for i, label in enumerate(options, start=1))


def reminder_choices(lang: str) -> list[tuple[str, str]]:
    """What a reminder offers; the reply "1", "2" or "3" picks one (flows.my_appointments)."""
    return [
        ("confirm", say(lang, "reminder_confirm")),
        ("reschedule", say(lang, "reschedule")),
        ("cancel", say(lang, "cancel")),
    ]
