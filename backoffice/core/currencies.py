"""Currency codes: ISO 4217, as a fixed list (no dependency), and the rule for a code.

The list is ISO 4217's list one (current currencies and funds, kept by SIX) as it stood
in 2025, without XTS (reserved for testing) and XXX ("no currency"), which no account or
price is held in. A withdrawn code (HRK, ZWL...) is refused: nothing new is set up in
it. When the list changes, change it here.
"""

from __future__ import annotations

ISO_4217 = frozenset(
    """
    AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL
    BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUP CVE CZK DJF
    DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG
    HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK
    LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN
    NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR
    SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY
    TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XAG XAU XBA
    XBB XBC XBD XCD XCG XDR XOF XPD XPF XPT XSU XUA YER ZAR ZMW ZWG
    """.split()
)


def currency_problem(code: str, *, crypto: bool = False) -> str | None:
    """Why ``code`` (already stripped and upper-cased) is not a currency code, or None.

    ``crypto``: the quote currency of a crypto instrument, which may be a coin that ISO
    4217 does not list (USDT, USDC): then 3 to 5 capital letters A to Z.
    """
    if code in ISO_4217:
        return None
    shown = code[:8].encode("ascii", "backslashreplace").decode()
    if crypto:
        if code.isascii() and code.isalpha() and 3 <= len(code) <= 5:
            return None
        return (
            f"{shown!r} is not a currency code: give an ISO 4217 code such as USD, or a "
            "coin's code of 3 to 5 letters A to Z (USDT)."
        )
    return f"{shown!r} is not an ISO 4217 currency code: give one such as USD, EUR or JPY."
