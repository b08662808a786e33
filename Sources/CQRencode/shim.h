// libqrencode (Debian libqrencode-dev): QR symbols for the TOTP enrolment URI.
#include <qrencode.h>
