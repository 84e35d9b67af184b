"""The routing score on the held-out set (issue 16) has a floor.

tests/fixtures/routing_holdout/ holds 1,319 desk mails (360 en, 322 nl, 319 pl, 318 de) written
and labelled from the procedure alone, before their writer looked at the rules, and
committed before the rules were run on them. The first 121 mails' first score, with the shipped rules as
they were (owner / kind / cancellation recall / precision / complaint recall, %):
all 81.8 / 73.6 / 84.6 / 84.6 / 75.0; nl 90.9 / 72.7 / 100 / 100 / 50.0; en 73.3 / 61.7 /
60.0 / 75.0 / 70.0; pl 85.0 / 95.0 / 100 / 100 / 100; de 94.7 / 89.5 / 100 / 75.0 / 100.
The floors are the figures after general rule changes made with its misroutes in view
(no rule names a mail): from now on it is a second tuning set, and only a new held-out
set can tell the real figure again. Never edit a label to fit the rules.

The last 40 mails (122-161, 10 per language) were added by session routing3 and committed
before any rule change of that session; their first score with the rules as they then
were (owner / kind / cancellation recall / precision / complaint recall, %): all 95.0 /
80.0 / 75.0 / 100 / 80.0; nl 90.0 / 80.0 / 100 / 100 / 50.0; en 90.0 / 60.0 / 0.0 / - /
100; pl 100 / 90.0 / 100 / 100 / 100; de 100 / 90.0 / 100 / 100 / 100. The floors below
are after that session's general rule changes, made with all 161 mails' misroutes in view.

The last 60 mails (162-221, slugs en3-/nl3-/pl3-/de3-, 15 per language) were added by
session holdout3, written from the procedure by a helper who had not seen the rules, and
committed before the router was run on them. Their first (unseen) score with the rules of
main e6ac1ce (owner / kind / cancellation recall / precision / complaint recall, %): all
70.0 / 65.0 / 33.3 / 100 (4 of 4) / 40.0; nl 66.7 / 66.7 / 0.0 / - / 33.3; en 53.3 / 33.3 /
0.0 / - / 25.0; pl 73.3 / 73.3 / 66.7 / 100 / 50.0; de 86.7 / 86.7 / 66.7 / 100 / 50.0; two
of their four auto-replies were wrong (one urgent, one urgent and to receivables). No rule
was changed for them: the floors below were LOWERED to the whole set's measured figures
(they were 100 but for en kind 97.1 on the 161 mails) and the auto-reply check became a
ceiling of the measured two. Raise them again as the rules improve.

Session routing4 then made general changes with batch 3's 27 misroutes in view (classes
of failure, no rule names a mail): attached PDF letters read as their own text part,
cancelling verb + contract word in one sentence (`*_near`), absence notices by their text,
sentiment words, money disputes to receivables, narrower topic words. Batch 3 went from
70.0 / 65.0 / 33.3 / 100 / 40.0 to 100 / 100 / 100 / 100 / 100 - but it is now SEEN, a tuning
set like the rest: only batch 4 (unseen) can tell the real figure. The floors below are the
measured figures (docs/measured.md, round "routing4").

The last 60 mails (222-281, slugs en4-/nl4-/pl4-/de4-, 15 per language) were added by
session holdout4, written from the procedure by a helper who had not seen the rules, and
committed before the router was run on them; session routing4 never saw them. Their
unseen score, with main's rules before routing4 (36a3f27) and after it (owner / kind /
cancellation recall / precision / complaint recall, %): all 86.7 / 73.3 / 50.0 / 85.7 / 64.7
-> 90.0 / 76.7 / 66.7 / 88.9 / 64.7; after, per language: nl 86.7 / 73.3 / 66.7 / 100 / 75.0;
en 86.7 / 73.3 / 33.3 / 100 / 50.0; pl 93.3 / 86.7 / 100 / 75.0 / 75.0; de 93.3 / 73.3 /
66.7 / 100 / 60.0; auto-replies 0 of 2 wrong. This is the honest figure for unseen mail
today. No rule was changed for them: the floors below are the whole 281-mail set's
measured figures, LOWERED from routing4's on 221 mails.

The last 60 mails (282-341, slugs en5-/nl5-/pl5-/de5-, 15 per language) were added by
session holdout5 (2026-11-30), written unseen the same way and committed before the router
was run on them. Their unseen score with main's rules of c623eec (owner / kind /
cancellation recall / precision / complaint recall, %): all 86.7 / 70.0 / 66.7 (8 of 12) /
100 (8 of 8) / 40.0 (6 of 15); nl 93.3 / 80.0 / 66.7 / 100 / 33.3; en 60.0 / 46.7 / 33.3 /
100 / 20.0; pl 100 / 93.3 / 100 / 100 / 75.0; de 93.3 / 60.0 / 66.7 / 100 / 33.3; one of four
auto-replies wrong (urgent). With the kind model (bot/core/rules/kind_model.py, trained on
routing_eval and batches 1-4 only) merged, still unseen: all 88.3 / 71.7 / 66.7 / 100 / 40.0
(one more mail right: an appointment the rules left to the catch-all). The floors below
are the whole 341-mail set's figures with the model.

Session routing5 then made general changes with batch 5's 18 misroutes in view (classes of
failure; no rule names a mail or copies its wording), so batch 5 is now SEEN, a tuning set
like the rest: complaints voiced indirectly while a topic word (invoice, advert, appointment)
also matches - repeated failure and chasing ("nobody has answered", "po raz kolejny"), a
visit nobody came to and a wait, a charge nobody explained or payment held back ("houden het
bedrag aan", "wstrzymujemy płatność"), "not what we agreed" / "nicht vereinbart", a person's
conduct, going over someone's head, "wiedergutmachen" - a complaint about an invoice stays
kind complaint with receivables; indirect leave-taking as a written cancellation ("done with
you", "don't renew", "we stoppen ermee", "wir steigen aus", "auslaufen lassen", "let this one
lapse" in a reply to our renewal mail); a conditional mention of notice the writer calls
undecided ("nothing has been decided", "entschieden ist nichts") is no threat, and
contract-terms questions come before appointments; an absence notice that names the office,
and "for anything urgent call ..." is no urgency; a customer's web page and a listing's map
pin go to the webmaster; a subject or a line that only thanks; a number of free copies.
Batch 5 (owner / kind / cancellation recall / precision / complaint recall, %): 88.3 / 71.7 /
66.7 / 100 / 40.0, one auto-reply wrong -> 100 / 100 / 100 / 100 / 100, none wrong (seen:
not an honest figure; the next unseen batch is). Mails 1-281: 98.6 / 96.1 / 92.7 / 97.4 /
89.5 -> 98.6 / 96.8 / 95.1 / 97.5 / 93.0 (no mail worse); routing_eval unchanged. The
floors below are the whole 341-mail set's measured figures after routing5, RAISED.

The last 40 mails (342-381, slugs en6-/nl6-/pl6-/de6-, 10 per language) were added by
session holdout6 (2026-11-30), written unseen the same way while routing5's rules were
already merged, and committed before the router was run on them: the honest figure for
routing5. Their unseen score with main's rules and kind model of b63ff64 (owner / kind /
cancellation recall / precision / complaint recall, %): all 85.0 / 67.5 / 87.5 (7 of 8) /
87.5 (7 of 8) / 66.7 (10 of 15); nl 90.0 / 50.0 / 50.0 / 50.0 / 50.0; en 90.0 / 70.0 / 100 /
100 / 66.7; pl 80.0 / 70.0 / 100 / 100 / 50.0; de 80.0 / 80.0 / 100 / 100 / 100; one of two
auto-replies wrong. Against batch 5's unseen 88.3 / 71.7 / 66.7 / 100 / 40.0: cancellations
and complaints are found more often, owner and kind are no better. The floors below are the
whole 381-mail set's figures, LOWERED. Then the kind model's upgrade of a rule's kind to
complaint at >= 0.90 (session kindmodel2, which never saw batch 6; thresholds by
cross-validation on batches 1-5) was merged: batch 6, still unseen, 85.0 / 70.0 / 87.5 /
87.5 / 73.3 (one complaint more found, nothing wrongly made a complaint); the floors were
raised to the whole set's figures with it.

Session routing6 then made a general change with batch 6's 13 misroutes in view (a class of
failure; no rule names a mail or copies its wording), so batch 6 is now SEEN: an absence notice
known by its text alone now also covers a company holiday ("im Betriebsurlaub", "closed for
the holidays", "gesloten wegens vakantie", "z powodu urlopu firmowego") and a mail that calls
itself automatically generated - a remark for sales support, never a complaint or urgent even
when it lists complaints and cancellations it will handle later. Batch 6 (owner / kind /
cancellation recall / precision / complaint recall, %): 85.0 / 70.0 / 87.5 / 87.5 / 73.3, one
auto-reply wrong -> 87.5 / 72.5 / 87.5 / 87.5 / 73.3, none wrong (seen: not an honest figure).
Mails 1-341 and routing_eval: no mail changed. The other twelve classes (paid placement not
delivered, a late photographer, a sold item still shown, a repeated invoice error as complaints;
a takeover's "do not renew"; a quoted or joking cancel word; a third party's terms as website
content; unsolicited deliveries; a price-comparison question) are still open. Floors: de
raised to the whole set's figures, no auto-reply wrong.

Session routing7 made general changes with the whole set's 22 remaining misroutes in view
(classes; no rule names a mail or copies its wording; tests/core/test_rules.py has new
short examples per class in the four languages): words inside double quotation marks are
somebody else's (a new `quoted` scope in the engine: reported speech, a text to put on the
customer's website); an employee who resigned ("złożył wypowiedzenie", "handed in her
notice") is a context phrase; German zu-infinitives and Dutch "niet meer door te lopen",
"laten stoppen", "ik verleng NIET"; "nach reiflicher Überlegung" is a decision, not a
hypothesis (the German hypothetical words became verb forms); the listing itself
("Eintrag", "wpis") as what is ended; withdrawing a notice "als ingetrokken"; a fault
reported again ("nog een keer doorgegeven", "mehrfach gemeldet", "już trzecia"), "so
geht das nicht", rude staff as complaints; pages gone ("Not Found") as technical; a new
price list on the customer's own page ("podmiana"); the price of a map feature as
advertising. Whole 381-mail set (owner / kind / cancellation recall / precision / complaint
recall, %): 97.6 / 95.5 / 95.1 / 96.7 / 94.3 -> 99.0 / 97.9 / 100 / 100 / 98.9; every
language meets issue 16's bars (owner >= 95, kind >= 90, cancellations >= 97, complaints
>= 90); no mail of routing_eval changed. Seen, so not an honest figure: batch 7 (unseen) is.
Floors RAISED to these figures.

The last 60 mails (382-441, slugs en7-/nl7-/pl7-/de7-, 15 per language) were added by
session holdout7 (2026-11-30), written unseen the same way (from the procedure, the label
scheme and the directory; the writer saw, by a too-broad grep, the subjects and labels of
entries 4-11 of the older set, and no rule) and committed before the router was run on
them. routing7 was written before batch 7 existed. Their unseen score (owner / kind /
cancellation recall / precision / complaint recall, %), the same with routing6's and with
routing7's rules (routing7 changed no mail of batch 7): all 91.7 / 78.3 / 77.8 (7 of 9) /
70.0 (7 of 10) / 63.6 (7 of 11); nl 100 / 73.3 / 100 / 66.7 / 50.0; en 86.7 / 66.7 / 33.3 /
50.0 / 33.3; pl 86.7 / 86.7 / 100 / 66.7 / 100; de 93.3 / 86.7 / 100 / 100 / 66.7; none of
four auto-replies wrong. Owner is the best unseen figure so far (batches 4-6: 90.0, 88.3,
85.0); kind, cancellations and complaints on unseen mail stay well below issue 16's bars.
Floors: the whole 441-mail set's figures, LOWERED.

Session routing8 then made general changes with batch 7's 14 misroutes in view (classes; no
rule names a mail or copies its wording; new short examples per class in
tests/core/test_rules.py and tests/core/test_loops.py), so batch 7 is now SEEN: a
newsletter's footer without a link address ("You receive this newsletter because", "Aby
zrezygnować z otrzymywania") marks the mail automatic (bot/core/mail/autoreply.py, so it is
not acknowledged either); a reply under a cancellation subject that takes the notice back
("vergeet mijn mail hieronder", "please disregard my earlier email", "der Vertrag läuft
weiter"); "I am cancelling it", "no to the renewal", "let K-10455 run its course" in a reply
to our renewal mail; promises not kept ("was told it would", "obiecano nam"), counted
reports ("viermal gemeldet", "trzy razy zgłaszaliśmy"), "can't be that hard", "not a single
job", "Uns reicht es" as complaints; "aan ons contract verandert niets" reassures (only "er
verandert niets" complains); VAT as a word, not the start of "Vater"; the customer's own
terms and conditions attached ("warunki rezerwacji", "AGB") start no cancellation; free
cancellation of a guest's booking is a context phrase; "Danke für …" subjects thank. Batch 7
(owner / kind / cancellation recall / precision / complaint recall, %): 91.7 / 78.3 / 77.8 /
70.0 / 63.6 -> 100 / 95.0 / 100 / 100 / 100 (seen). Whole 441-mail set: 98.0 / 95.2 / 97.1 /
95.8 / 94.9 -> 99.1 / 97.5 / 100 / 100 / 99.0; routing_eval and the real-world corpus
unchanged. Floors RAISED to these figures; batch 8 (unseen) tells the honest figure.
Then the kind model was retrained on the tuning set and batches 1-7 (765 mails): the whole
441-mail set 99.1 / 97.7 / 100 / 100 / 100.

The last 60 mails (442-501, slugs en8-/nl8-/pl8-/de8-, 15 per language) were added by
session holdout8 (2026-11-30), written unseen the same way (the writer saw one older entry,
number 4, by an 80-line view, and no rule) and committed before the router ran on them;
routing8 and the retrained model never saw them. Their unseen score (owner / kind /
cancellation recall / precision / complaint recall, %): all 88.3 / 70.0 / 70.0 (7 of 10) /
77.8 (7 of 9) / 76.9 (10 of 13); nl 80.0 / 80.0 / 66.7 / 100 / 100; en 93.3 / 66.7 / 66.7 /
100 / 66.7; pl 86.7 / 73.3 / 100 / 66.7 / 100; de 93.3 / 60.0 / 50.0 / 50.0 / 50.0; none of
four auto-replies wrong. Unseen owner stays at 85-92 % and kind at 70-78 % across batches
4-8, whatever the seen set scores. Floors: the whole 501-mail set's figures, LOWERED.

Session routing9 then made general changes with batch 8's 18 misroutes in view (classes;
new short examples per class in tests/core/test_rules.py and tests/core/test_loops.py), so
batch 8 is now SEEN: declining the next term ("auf eine weitere Laufzeit verzichten wir",
"will not be carrying the listing on", "verlengen is niet nodig", "no need to renew"); a
guest's booking that "could be cancelled" is no threat; chasing a paid invoice, a charge
"ohne Ankündigung", "nie die Rede", "er is niets gebeurd", "nothing has happened" as
complaints; another company's contract ("umowę z nimi wypowiedzieliśmy"); "ziehe ich meine
Kündigung zurück", "withdraw my notice" in a reply; a panel login to block is technical;
mass-mail footers ("Impressum · Abmelden", "Jeżeli nie chcesz otrzymywać", "Dit bericht is
automatisch verzonden") make a mail automatic. The kind model was retrained on batches 1-8
(825 mails). Batch 8: 88.3 / 70.0 / 70.0 / 77.8 / 76.9 -> 98.3 / 91.7 / 100 / 100 / 100
(seen). Whole 501-mail set: 97.8 / 94.4 / 96.2 / 97.5 / 97.3 -> 99.0 / 97.0 / 100 / 100 /
100; routing_eval and the real-world corpus unchanged. Floors RAISED; batch 9 (unseen)
tells the honest figure.

The last 60 mails (502-561, slugs en9-/nl9-/pl9-/de9-, 15 per language) were added by
session holdout9 (2026-11-30), written unseen the same way (the writer saw the older slugs,
which hint at topics, and no rule or older mail beyond the first three) and committed before
the router ran on them; routing9 and the model trained on batches 1-8 never saw them. Their
unseen score (owner / kind / cancellation recall / precision / complaint recall, %): all
93.3 / 81.7 / 83.3 (10 of 12) / 100 (10 of 10) / 71.4 (10 of 14); nl 93.3 / 80.0 / 66.7 /
100 / 100; en 93.3 / 80.0 / 66.7 / 100 / 66.7; pl 93.3 / 80.0 / 100 / 100 / 75.0; de 93.3 /
86.7 / 100 / 100 / 33.3; none of four auto-replies wrong. The best unseen figures so far
(batch 8: 88.3 / 70.0 / 70.0 / 77.8 / 76.9), still short of issue 16's bars.

Session routing10 then made general changes with batch 9's 12 misroutes in view, so batch
9 is now SEEN: "please don't roll it over", "our notice in writing", "hoeft niet meer
verlengd te worden"; "promises are cheap", "what you intend to do about it", "za co
właściwie płacimy", "es kam niemand", "das gleiche Spiel", "so etwas nennt sich" as
complaints; "nothing happens when you click" / "gebeurt er niets meer als" is a fault, not
a complaint (scopes.context); a blank page ("weiße Seite") is technical; a prospect who
wants to advertise "sich zareklamować" or "es bei Ihnen versuchen" whatever its own trade.
The kind model was retrained on batches 1-9 (885 mails). Batch 9: 93.3 / 81.7 / 83.3 / 100
/ 71.4 -> 100 / 95.0 / 100 / 100 / 100 (seen). Whole 561-mail set: 98.4 / 95.4 / 97.8 / 100
/ 96.8 -> 99.1 / 96.8 / 100 / 100 / 100. Floors RAISED; batch 10 (unseen) tells the honest
figure.

The last 60 mails (562-621, slugs en10-/nl10-/pl10-/de10-, 15 per language) were added by
session holdout10 (2026-11-30), written unseen the same way (the writer printed only the
first three entries and id lines; no rule, no slug list) and committed before the router
ran on them; routing10 and the model trained on batches 1-9 never saw them. Their unseen
score (owner / kind / cancellation recall / precision / complaint recall, %): all 91.7 /
76.7 / 66.7 (10 of 15) / 83.3 (10 of 12) / 82.4 (14 of 17); nl 100 / 80.0 / 75.0 / 100 /
100; en 93.3 / 93.3 / 75.0 / 100 / 80.0; pl 93.3 / 73.3 / 33.3 / 50.0 / 75.0; de 80.0 / 60.0
/ 75.0 / 75.0 / 80.0; none of four auto-replies wrong. Unseen, batches 7-10: owner 88-93 %,
kind 70-82 %, cancellation recall 67-83 %.

Session routing11 then made general changes with batch 10's 15 misroutes in view, so batch
10 is now SEEN: a request put as a question ("Wilt u ervoor zorgen dat het contract niet
wordt verlengd?", "Could you make sure ...?") is stated, unless it asks to be told (a
question word, "vertellen", "tell", "sagen": engine, facts.polite_request); "niet wordt
verlengd", "nie odnawiać", "nie zostanie przedłużona", "nicht weiterlaufen lassen", "no need
to roll it over", "stepping away from"; "Kündigungsfrist" in a subject is the notice period
(context), no notice; "wypowiedzenie jako niebyłe", "umowa ma trwać dalej", "zmieniliśmy
zdanie" in a reply take a notice back; "erwarte ich", "nicht angekündigt", "zgłaszałem dwa
razy", a curt "I'm done." complain; a directory's proof to sign or "confirm your details"
from a non-customer is a remark, not acknowledged (rule directory-offer). The kind model was
retrained on batches 1-10 (945 mails). Batch 10: 91.7 / 76.7 / 66.7 / 83.3 / 82.4 -> 98.3 /
91.7 / 100 / 100 / 100 (seen). Whole 621-mail set: 98.4 / 94.8 / 95.3 / 98.1 / 97.9 -> 99.0 /
96.3 / 100 / 100 / 100; routing_eval unchanged. Floors RAISED to these figures.

The last 60 mails (622-681, slugs en11-/nl11-/pl11-/de11-, 15 per language) were added by
session holdout11 (2026-11-30), written unseen the same way (the writer saw the first 13
batch-1 entries by a mis-split command, and the folder README's paragraphs on batches 2-5
and 10, and rewrote four mails that came out close to batch-10 topics) and committed before
the router ran on them; routing11 and the model trained on batches 1-10 never saw them.
Their unseen score, the honest figure for the shipped rules (owner / kind / cancellation
recall / precision / complaint recall, %): all 95.0 / 81.7 / 90.9 (10 of 11) / 76.9 (10 of
13) / 85.7 (12 of 14); nl 100 / 66.7 / 66.7 / 50.0 / 66.7; en 86.7 / 80.0 / 100 / 75.0 /
75.0; pl 100 / 93.3 / 100 / 100 / 100; de 93.3 / 86.7 / 100 / 100 / 100; none of five
auto-replies wrong. The best unseen batch so far; kind, cancellation precision and
complaint recall are still short of issue 16's bars. No rule was changed for it: floors are
the whole 681-mail set's figures, LOWERED.

The last 80 mails (682-761, slugs en12-/nl12-/pl12-/de12-, 20 per language) were added by
session holdout12 (2026-11-30), written unseen the same way (the writer's command printed
the first nine entries of source.yaml instead of three, and the folder README's batch
paragraphs) and committed before the router ran on them; routing11 and the model trained on
batches 1-10 never saw them. Their unseen score: all 92.5 / 76.2 / 81.2 (13 of 16) / 86.7
(13 of 15) / 60.0 (12 of 20); nl 100 / 80.0 / 75.0 / 100 / 40.0; en 90.0 / 65.0 / 75.0 /
75.0 / 80.0; pl 95.0 / 90.0 / 100 / 100 / 60.0; de 85.0 / 70.0 / 75.0 / 75.0 / 60.0; none of
four auto-replies wrong. Batches 11 and 12 together (140 mails nobody tuned to): 93.6 / 78.6
/ 85.2 / 82.1 / 70.6. Floors: the whole 761-mail set's figures, LOWERED.

Session routing12 (2026-11-30) taught the rules batch 12's classes of failure, tuned on
batch 12 alone (batch 11's misroutes were not looked at): harm to the customer's trade
("kost ons klanten", "costing us customers", "kostet uns Kunden"), broken promises
("każdy obiecuje", "is it usual to be promised"), a fault reported "3x", a bare "Wystarczy."
on a line of its own, "wofür wir eigentlich ... bezahlen", a price other than the quote's,
"nikt nas ... nie informował" on an invoice, the Polish perfective "zrezygnujemy" in a
conditional threat, "voordat we iets besluiten" holding a threat back; declining the next
term ("I'd rather you didn't renew", "eine Verlängerung kommt nicht in Frage", "niet willen
laten doorlopen"); another company's subscription ("cancelled my subscription with
LocalFinder"); a proposed time confirmed ("Tuesday at 10 ... is fine", "um 17:30 Uhr
passt"); a link of ours that expired; passing on thanks; a stand-in contact; a member's
circular ("Sie erhalten diesen Rundbrief als Mitglied"). Batch 12: 92.5 / 76.2 / 81.2 /
86.7 / 60.0 -> 98.8 / 96.2 / 100 / 100 / 95.0 (seen). Batch 11, which nobody tuned to:
unchanged, 95.0 / 81.7 / 90.9 / 76.9 / 85.7: the round's phrases did not carry over to it.
Batches 1-10 and routing_eval unchanged. Floors RAISED to the whole set's new figures.

The last 80 mails (762-841, slugs en13-/nl13-/pl13-/de13-, 20 per language) were added by
session holdout13 (2026-11-30), written unseen (the writer saw the end of entry 761 by a
`tail`, single lines of earlier batch paragraphs and a few file names; no mail's text) and
committed before the router ran on them; routing12 and the model trained on batches 1-10
never saw them. Their unseen score: all 90.0 / 85.0 / 100 (12 of 12) / 80.0 (12 of 15) /
88.2 (15 of 17); nl 90.0 / 85.0 / 100 / 100 / 80.0; en 95.0 / 95.0 / 100 / 75.0 / 100; pl
85.0 / 80.0 / 100 / 75.0 / 75.0; de 90.0 / 80.0 / 100 / 75.0 / 100; none of seven
auto-replies wrong. Floors: the whole 841-mail set's figures, LOWERED.

The kind model was then retrained on routing_eval and batches 1-10 and 12 (1,025 mails;
batches 11 and 13 kept out: `UNSEEN` in scripts/train_kind_model.py), thresholds unchanged
by its cross-validation. Batch 13, still unseen by rules and model: 90.0 / 87.5 / 100 / 80.0
/ 88.2 (two more kinds right); batch 11 unchanged. Batches 11 and 13 together, 140 mails
neither the rules nor the model was made from: 92.1 / 85.0 / 95.7 (22 of 23) / 78.6 (22 of
28) / 87.1 (27 of 31). The whole set: 97.9 / 94.5 / 99.3 / 96.0 / 97.9; floors raised
where it rose (de).

Batches 14 (842-921) and 15 (922-999, 78 mails) were written unseen by two helpers at the
same time and scored before any change: 14: 91.2 / 90.0 / 100 / 80.0 / 94.4 with one
auto-reply routed as a cancellation (a mailbox's own acknowledgement naming "cancellations
of a booking"); 15: 93.6 / 76.9 / 83.3 / 76.9 / 61.5. The auto-acknowledgement class was
then taught (the only change made from them), and the model retrained on all batches but
11 and 13 (1,183 mails): batches 11 + 13 unchanged at 92.1 / 85.0 / 95.7 / 78.6 / 87.1 (158
more training mails moved none of them). Floors: the whole 999-mail set, LOWERED.

Session routing16 (2026-12-01) first fixed three classes seen in batches 11-15 (a sentence
the mail program wrapped over two lines is one sentence, so a condition opening it governs
its second line; the subject of a forward of somebody else's letter is theirs; Dutch "stop
er maar mee"). Batches 16 (1000-1079) and 17 (1080-1159), 80 mails each, were then written
unseen by two helpers and scored before any further change: together 95.0 / 86.2 / 90.5 /
90.5 / 85.7 (16: 91.2 / 83.8 / 100 / 90.9 / 89.5; 17: 98.8 / 88.8 / 81.8 / 90.0 / 81.2).
Round routing16 taught their classes and a few left in batches 11 and 15 (withdrawn
notices, a cancel word put first and negated at its clause's end); the model was retrained
on all batches but 11 and 13 (1,343 mails) and its complaint upgrade lowered from 0.90 to
0.85 by the cross-validation by batch. The whole set then meets issue 16's bars in every
language (1,159 mails then).

Batches 18 (1160-1239, an ordinary December inbox) and 19 (1240-1319, a week of
complaints, cancellations and their look-alikes) were then written unseen by two more
helpers and scored with the round-16 rules and model before any change: together 94.4 /
81.9 / 88.0 / 75.9 / 80.0 (18: 95.0 / 86.2 / 80.0 / 88.9 / 85.7; 19: 93.8 / 77.5 / 93.3 /
70.0 / 76.2). Round routing18-19 taught their classes (the writer's own "we are NOT
cancelling" outweighs a letter or rumour mentioned; an employee's notice, another
directory's contract and an earlier notice mentioned in passing are context; a negation
after a keyword reaches no further than a conjunction; "nicht mehr verlängern", "contract
eruit", "don't want it to carry on", "doesn't roll over"), and the model was retrained on
all batches but 11 and 13 (1,503 mails). The floors below: the whole 1,319-mail set,
meeting issue 16's bars in every language.
"""

from __future__ import annotations

import pytest

from bench import routing

FLOORS = {  # the whole 1,319-mail set's figures after round routing18-19, model on all but 11, 13
    "nl": {"owner": 97.5, "kind": 92.2, "cancel_recall": 98.2, "cancel_precision": 100.0,
           "complaint_recall": 94.4},
    "en": {"owner": 97.8, "kind": 94.4, "cancel_recall": 100.0, "cancel_precision": 98.3,
           "complaint_recall": 97.5},
    "pl": {"owner": 97.2, "kind": 95.6, "cancel_recall": 100.0, "cancel_precision": 98.0,
           "complaint_recall": 95.9},
    "de": {"owner": 95.9, "kind": 92.8, "cancel_recall": 100.0, "cancel_precision": 98.1,
           "complaint_recall": 98.6},
}
# Auto-replies that are urgent or not with sales support: none on batches 1-5 since
# routing5; batch 6's one (a company holiday notice by text only) fixed by routing6.
AUTOREPLY_WRONG_CEILING = 0


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    return routing.evaluate(work=tmp_path_factory.mktemp("routing-holdout"), set_dir=routing.HOLDOUT)


def test_the_set_is_complete(cases):
    assert len(cases) >= 280
    assert {c.lang for c in cases} == set(FLOORS)
    english = sum(c.lang == "en" for c in cases)
    # English the largest part (360 of 1,319: batches 5-19 added as many mails per language)
    assert 0.25 <= english / len(cases) <= 0.55
    for lang in FLOORS:  # and every other language at least 40 mails (59-62)
        assert sum(c.lang == lang for c in cases) >= 40, lang
    assert all(not c.expected_owner.startswith("?") for c in cases), \
        [(c.file, c.expected_owner) for c in cases if c.expected_owner.startswith("?")]


@pytest.mark.parametrize("lang", sorted(FLOORS))
def test_score_per_language_is_not_below_the_floor(cases, lang):
    print("\n" + routing.table(cases))
    why = routing.below_floor(cases, lang, FLOORS[lang])
    assert not why, why


def test_auto_replies_are_never_urgent_nor_for_a_specialist(cases):
    wrong = [c for c in cases if c.autoreply_wrong]
    assert sum(c.label["autoreply"] for c in cases) >= 12
    assert len(wrong) <= AUTOREPLY_WRONG_CEILING, routing.misroutes(wrong)


def test_every_misroute_is_listed_with_its_label_and_trace(cases):
    """`make bench` writes this list (bench/routing.py MISROUTES): one entry per misrouted
    mail, with the label's reason and the explain trace of the rules that matched."""
    wrong = [c for c in cases if routing.misrouted(c)]
    listed = routing.misroutes(cases)
    heads = [line for line in listed.splitlines() if not line.startswith(" ")]
    assert 0 < len(wrong) == len(heads) == listed.count("\n    label: ")
    assert [h.split(" ", 1)[0] for h in heads] == [c.file for c in wrong]
    assert "    + " in listed  # the rules that matched, with what they found
