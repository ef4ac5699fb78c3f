// phonelib.cc — the C shim over libphonenumber (phonelib.h). The only C++ file of hilo: it is
// kept to what phone.c needs (parse, possible, valid, type, E.164, region <-> calling code) so
// that the C code never sees a C++ type, and no exception ever crosses into C (each entry point
// catches everything; libphonenumber itself reports errors by return value, the catch is for
// std::bad_alloc from its strings).
#include "hilo/phonelib.h"

#include <cstring>
#include <string>

#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

namespace {

const PhoneNumberUtil &util() { return *PhoneNumberUtil::GetInstance(); }

// Copies a short string into a fixed C buffer; false (buffer emptied) when it does not fit.
bool copy_out(const std::string &s, char *buf, size_t n) {
    if (s.size() >= n) {
        buf[0] = '\0';
        return false;
    }
    std::memcpy(buf, s.c_str(), s.size() + 1);
    return true;
}

hilo_phonelib_type_t type_of(PhoneNumberUtil::PhoneNumberType t) {
    switch (t) {
    case PhoneNumberUtil::FIXED_LINE:
        return HILO_PHONELIB_FIXED_LINE;
    case PhoneNumberUtil::MOBILE:
        return HILO_PHONELIB_MOBILE;
    case PhoneNumberUtil::FIXED_LINE_OR_MOBILE:
        return HILO_PHONELIB_FIXED_OR_MOBILE;
    case PhoneNumberUtil::UNKNOWN:
        return HILO_PHONELIB_UNKNOWN;
    default:
        return HILO_PHONELIB_OTHER;
    }
}

hilo_phonelib_err_t parse_error(PhoneNumberUtil::ErrorType e) {
    switch (e) {
    case PhoneNumberUtil::NO_PARSING_ERROR:
        return HILO_PHONELIB_OK;
    case PhoneNumberUtil::INVALID_COUNTRY_CODE_ERROR:
        return HILO_PHONELIB_BAD_COUNTRY_CODE;
    case PhoneNumberUtil::TOO_SHORT_AFTER_IDD:
    case PhoneNumberUtil::TOO_SHORT_NSN:
        return HILO_PHONELIB_TOO_SHORT;
    case PhoneNumberUtil::TOO_LONG_NSN:
        return HILO_PHONELIB_TOO_LONG;
    default:
        return HILO_PHONELIB_NOT_A_NUMBER;
    }
}

hilo_phonelib_err_t length_error(PhoneNumberUtil::ValidationResult v) {
    switch (v) {
    case PhoneNumberUtil::IS_POSSIBLE:
        return HILO_PHONELIB_OK;
    case PhoneNumberUtil::IS_POSSIBLE_LOCAL_ONLY:
        return HILO_PHONELIB_LOCAL_ONLY;
    case PhoneNumberUtil::INVALID_COUNTRY_CODE:
        return HILO_PHONELIB_BAD_COUNTRY_CODE;
    case PhoneNumberUtil::TOO_SHORT:
        return HILO_PHONELIB_TOO_SHORT;
    case PhoneNumberUtil::TOO_LONG:
        return HILO_PHONELIB_TOO_LONG;
    default:
        return HILO_PHONELIB_INVALID_LENGTH;
    }
}

}  // namespace

extern "C" hilo_phonelib_err_t hilo_phonelib_parse(const char *text, const char *region, int check_valid,
                                                    hilo_phonelib_number_t *out) {
    std::memset(out, 0, sizeof *out);
    try {
        const PhoneNumberUtil &u = util();
        PhoneNumber n;
        // "ZZ" is libphonenumber's "unknown region": only numbers with "+" parse.
        std::string reg = region && *region ? region : "ZZ";
        hilo_phonelib_err_t err = parse_error(u.Parse(text, reg, &n));
        if (err != HILO_PHONELIB_OK) return err;
        std::string s;
        u.Format(n, PhoneNumberUtil::E164, &s);
        if (!copy_out(s, out->e164, sizeof out->e164)) return HILO_PHONELIB_TOO_LONG;
        out->country_code = n.country_code();
        out->why_impossible = length_error(u.IsPossibleNumberWithReason(n));
        out->possible = out->why_impossible == HILO_PHONELIB_OK;
        out->valid = check_valid && u.IsValidNumber(n);
        if (out->valid) {
            out->type = type_of(u.GetNumberType(n));
            u.GetRegionCodeForNumber(n, &s);
            if (s != "ZZ") copy_out(s, out->region, sizeof out->region);
        }
        return HILO_PHONELIB_OK;
    } catch (...) {
        std::memset(out, 0, sizeof *out);
        return HILO_PHONELIB_FAILED;
    }
}

extern "C" int hilo_phonelib_country_code(const char *region) {
    if (!region || !*region) return 0;
    try {
        return util().GetCountryCodeForRegion(region);  // 0 for an unknown region
    } catch (...) {
        return 0;
    }
}

extern "C" int hilo_phonelib_main_region(int country_code, char out[3]) {
    out[0] = '\0';
    try {
        std::string r;
        util().GetRegionCodeForCountryCode(country_code, &r);
        // "001" is the "non-geographic entity" (satellite, UIFN): no region to read numbers in.
        if (r == "ZZ" || r == "001" || !copy_out(r, out, 3)) return 0;
        return 1;
    } catch (...) {
        return 0;
    }
}

extern "C" const char *hilo_phonelib_strerror(hilo_phonelib_err_t err) {
    switch (err) {
    case HILO_PHONELIB_OK:
        return "ok";
    case HILO_PHONELIB_NOT_A_NUMBER:
        return "not a phone number";
    case HILO_PHONELIB_BAD_COUNTRY_CODE:
        return "no such country calling code";
    case HILO_PHONELIB_TOO_SHORT:
        return "too short for its country";
    case HILO_PHONELIB_TOO_LONG:
        return "too long for its country";
    case HILO_PHONELIB_INVALID_LENGTH:
        return "no number of its country has that length";
    case HILO_PHONELIB_LOCAL_ONLY:
        return "a local number: its area code is missing";
    case HILO_PHONELIB_FAILED:
        return "phone number library failed";
    }
    return "unknown error";
}
