package web

import (
	"net/http"

	"secureshop/internal/shop"
)

// problemDoc explains a problem type: what happened, and what the client or person can do.
type problemDoc struct {
	Title string
	What  string
	Do    string
}

// problemDocs are the pages every problem's type URI (/problems/<slug>) resolves to: one for each
// kind of error, and one for each code that names a problem more precisely.
var problemDocs = map[string]problemDoc{
	string(shop.KindInvalid): {"The input is not valid",
		"One or more fields failed validation. The answer's errors list each field and what is wrong with it.",
		"Correct the fields named and send the request again."},
	string(shop.KindBadRequest): {"The request cannot be read",
		"The body is not the JSON the endpoint takes, or a required header is missing.",
		"Check the request against the API description (/api/v1/openapi.json) and send it again."},
	string(shop.KindUnauthenticated): {"Sign-in needed",
		"The request carries no valid credentials: no token, an expired or revoked one, or a wrong password or code.",
		"Sign in again (or refresh the access token) and repeat the request."},
	string(shop.KindForbidden): {"Not allowed",
		"You are signed in, but your role may not do this here.",
		"Ask an administrator of the store if you need this permission."},
	string(shop.KindNotFound): {"Not found",
		"There is no such object in this store. Another store's objects answer the same way: they do not exist here.",
		"Check the identifier and the store in the path."},
	string(shop.KindConflict): {"Conflict with the current state",
		"The object is not in a state that allows this: an order that has shipped, stock that has run out, a name that is taken.",
		"Reload the object, look at its state and decide again."},
	string(shop.KindRateLimited): {"Too many requests",
		"Too many requests came from your address, or for this account, in a short time.",
		"Wait for the number of seconds the Retry-After header gives, then try again."},
	string(shop.KindUnavailable): {"Temporarily unavailable",
		"A service the shop needs is not answering right now. Nothing was changed.",
		"Try again in a moment (Retry-After, when present, says when)."},
	string(shop.KindPaymentRequired): {"Payment not accepted",
		"The payment was refused.",
		"Use another payment method, or ask your bank."},
	string(shop.KindInternal): {"Something went wrong on our side",
		"The shop failed to answer the request. The failure is logged with the request id the answer carries.",
		"Try again; if it keeps failing, quote the request id when you contact the shop."},

	shop.CodePayloadTooLarge: {"The request body is too large",
		"The body is larger than the shop accepts for a request.",
		"Send less: for catalogue imports, split the file."},
	shop.CodeUnsupportedMediaType: {"Unsupported content type",
		"The body's Content-Type is not one this endpoint takes: application/json, or text/csv for imports.",
		"Send the body with the content type the API description gives."},
	shop.CodeMethodNotAllowed: {"Method not allowed",
		"This path does not take this HTTP method.",
		"See the API description for the methods each path takes."},
	shop.CodeCSRF: {"The form has expired",
		"The form's security token did not match your session, or the request came from another site.",
		"Reload the page and submit the form again."},
	shop.CodeEmailUnverified: {"E-mail address not verified",
		"Checking out needs a verified e-mail address.",
		"Follow the link in the verification mail, or ask for a new one from your account page."},
	shop.CodeMFAInvalid: {"The code is not valid",
		"The second-factor code is wrong, expired or was already used.",
		"Enter a fresh code from your authenticator app, or use a recovery code."},
	shop.CodeStoreSuspended: {"The store is suspended",
		"This store is not trading at the moment.",
		"Try again later, or contact the store."},
	shop.CodeKeyRequired: {"Idempotency-Key required",
		"This request moves money or stock, and must carry an Idempotency-Key header so that a retry can never do it twice.",
		"Send a new unique key (a UUID) with each new request, and the same key when you retry it."},
	shop.CodeKeyReused: {"Idempotency-Key used for another request",
		"This key was already used with a different request body.",
		"Use a new key for a new request; use a key again only to retry exactly the same request."},
	shop.CodeKeyInUse: {"The first request with this key is still running",
		"A request with the same Idempotency-Key is still being processed.",
		"Retry with the same key after the seconds Retry-After gives: you will get the first request's answer."},
	shop.CodePriceChanged: {"Prices changed",
		"A price in the cart changed since it was put there, or the total you were shown is no longer the total. Nothing was charged; the cart now shows the new prices.",
		"Look at the new total and check out again to pay it."},
	shop.CodeNothingShips: {"Nothing ships this cart there",
		"None of the store's shipping methods takes this cart to the address given: the parcel is heavier than every method to that country takes. Nothing was reserved or charged.",
		"Take something out of the cart, or send it to another address."},
	shop.CodeBadSignature: {"The webhook signature does not verify",
		"A payment event came without a valid signature from the configured provider (forged, altered, too old, or signed with another secret). Nothing was changed.",
		"If it is your provider's, check that the shop's webhook secret is the one the provider signs with."},
	shop.CodePaymentPending: {"The payment page could not be opened yet",
		"The payment provider did not answer in time. Your order and its stock are kept until its reservation ends.",
		"Retry with the same Idempotency-Key, or open the order and press Pay: it is never charged twice."},
	shop.CodeRefundFailed: {"The refund did not go through",
		"The payment provider refused the refund. It is recorded as failed in the order's payments.",
		"Check the payment at the provider; a refund for what is still left can be tried again."},
	shop.CodeMFAEnrollmentRequired: {"Set up two-factor sign-in first",
		"Staff and platform accounts must sign in with a second factor. Until yours is set up, only your account page and sign-out are open to you.",
		"Open your account page and enrol an authenticator app."},
	shop.CodeStorageFull: {"The shop cannot store anything right now",
		"The shop's disk is full. Nothing was changed.",
		"Try again later; the operators have been told."},
	shop.CodeAuditUnavailable: {"The audit log cannot be written",
		"This action must be recorded in the audit log, and the record could not be written, so the action was refused.",
		"Try again in a moment."},
}

// pageProblem explains a problem type: the page a problem's type URI names.
func (s *Server) pageProblem(w http.ResponseWriter, r *http.Request) error {
	doc, ok := problemDocs[r.PathValue("slug")]
	if !ok {
		return shop.NotFound("Problem type")
	}
	w.Header().Set("Cache-Control", "public, max-age=3600")
	return s.render(w, r, "problem", pageData{Title: doc.Title, ProblemDoc: &doc})
}
