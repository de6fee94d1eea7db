"""The callback, block and action ids that handlers read back from Slack's payloads."""

SHARE_CALLBACK = "share_secret"
UNLOCK_CALLBACK = "unlock_secret"

REVEAL_ACTION = "reveal_secret"
REVEAL_LOCKED_ACTION = "reveal_with_passphrase"
REVOKE_ACTION = "revoke_secret"
RETRY_DELIVERY_ACTION = "retry_delivery"
ANSWER_REQUEST_ACTION = "answer_request"

# Share form fields: block id (= the field name validation reports) and action id.
RECIPIENTS_BLOCK, RECIPIENTS_ACTION = "recipients", "users"
SECRET_BLOCK, SECRET_ACTION = "secret", "text"
FORMAT_BLOCK, FORMAT_ACTION = "format", "choice"
LABEL_BLOCK, LABEL_ACTION = "label", "text"
EXPIRY_BLOCK, EXPIRY_ACTION = "expiry", "choice"
CUSTOM_EXPIRY_BLOCK, CUSTOM_EXPIRY_ACTION = "custom_expiry", "text"
VIEWS_BLOCK, VIEWS_ACTION = "views", "choice"
TOTAL_VIEWS_BLOCK, TOTAL_VIEWS_ACTION = "total_views", "number"
PASSPHRASE_BLOCK, PASSPHRASE_ACTION = "passphrase", "text"
NOTIFY_BLOCK, NOTIFY_ACTION = "notify", "choice"
NOTIFY_VALUE = "notify"

UNLOCK_BLOCK, UNLOCK_ACTION = "passphrase", "text"

OPEN_FORM_ACTION = "open_share_form"
SHORTCUT_CALLBACK = "share_secret_shortcut"
ADMIN_REVOKE_ACTION = "admin_revoke"
ADMIN_STATUS_ACTION = "admin_filter_status"
ADMIN_SENDER_ACTION = "admin_filter_sender"
ADMIN_PAGE_ACTION = "admin_page"
ADMIN_CLEAR_ACTION = "admin_clear_filters"
