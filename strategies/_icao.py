"""Vendored ICAO 9303 part 3 nationality / issuing-state codes.

Provenance: the ISO 3166-1 alpha-3 codes from Debian's ``iso-codes`` package 4.15.0
(``/usr/share/iso-codes/json/iso_3166-1.json``, maintained from the ISO 3166 Maintenance
Agency's list; https://salsa.debian.org/iso-codes-team/iso-codes), 249 codes, with Germany's
``DEU`` replaced by ``D<<`` as ICAO 9303 part 3 section 5 requires, plus the non-ISO codes
ICAO 9303 part 3 lists (British nationality categories, United Nations, stateless and
refugee persons, the EU) and ``UTO``, the fictional "Utopia" of the ICAO specimens.
"""

from __future__ import annotations

__all__ = ["ICAO_CODES"]

# fmt: off
_ISO_3166_ALPHA3 = (
    "ABW", "AFG", "AGO", "AIA", "ALA", "ALB", "AND", "ARE", "ARG", "ARM", "ASM", "ATA", "ATF",
    "ATG", "AUS", "AUT", "AZE", "BDI", "BEL", "BEN", "BES", "BFA", "BGD", "BGR", "BHR", "BHS",
    "BIH", "BLM", "BLR", "BLZ", "BMU", "BOL", "BRA", "BRB", "BRN", "BTN", "BVT", "BWA", "CAF",
    "CAN", "CCK", "CHE", "CHL", "CHN", "CIV", "CMR", "COD", "COG", "COK", "COL", "COM", "CPV",
    "CRI", "CUB", "CUW", "CXR", "CYM", "CYP", "CZE", "DEU", "DJI", "DMA", "DNK", "DOM", "DZA",
    "ECU", "EGY", "ERI", "ESH", "ESP", "EST", "ETH", "FIN", "FJI", "FLK", "FRA", "FRO", "FSM",
    "GAB", "GBR", "GEO", "GGY", "GHA", "GIB", "GIN", "GLP", "GMB", "GNB", "GNQ", "GRC", "GRD",
    "GRL", "GTM", "GUF", "GUM", "GUY", "HKG", "HMD", "HND", "HRV", "HTI", "HUN", "IDN", "IMN",
    "IND", "IOT", "IRL", "IRN", "IRQ", "ISL", "ISR", "ITA", "JAM", "JEY", "JOR", "JPN", "KAZ",
    "KEN", "KGZ", "KHM", "KIR", "KNA", "KOR", "KWT", "LAO", "LBN", "LBR", "LBY", "LCA", "LIE",
    "LKA", "LSO", "LTU", "LUX", "LVA", "MAC", "MAF", "MAR", "MCO", "MDA", "MDG", "MDV", "MEX",
    "MHL", "MKD", "MLI", "MLT", "MMR", "MNE", "MNG", "MNP", "MOZ", "MRT", "MSR", "MTQ", "MUS",
    "MWI", "MYS", "MYT", "NAM", "NCL", "NER", "NFK", "NGA", "NIC", "NIU", "NLD", "NOR", "NPL",
    "NRU", "NZL", "OMN", "PAK", "PAN", "PCN", "PER", "PHL", "PLW", "PNG", "POL", "PRI", "PRK",
    "PRT", "PRY", "PSE", "PYF", "QAT", "REU", "ROU", "RUS", "RWA", "SAU", "SDN", "SEN", "SGP",
    "SGS", "SHN", "SJM", "SLB", "SLE", "SLV", "SMR", "SOM", "SPM", "SRB", "SSD", "STP", "SUR",
    "SVK", "SVN", "SWE", "SWZ", "SXM", "SYC", "SYR", "TCA", "TCD", "TGO", "THA", "TJK", "TKL",
    "TKM", "TLS", "TON", "TTO", "TUN", "TUR", "TUV", "TWN", "TZA", "UGA", "UKR", "UMI", "URY",
    "USA", "UZB", "VAT", "VCT", "VEN", "VGB", "VIR", "VNM", "VUT", "WLF", "WSM", "YEM", "ZAF",
    "ZMB", "ZWE",
)
# fmt: on

# fmt: off
_ICAO_ONLY = (
    "GBD", "GBN", "GBO", "GBP", "GBS",  # British nationality categories
    "UNO", "UNA", "UNK",  # United Nations officials, agencies, Kosovo mission
    "XXA", "XXB", "XXC", "XXX",  # stateless, refugees, other
    "EUE",  # European Union
    "UTO",  # Utopia, the specimen state
)
# fmt: on

# Three characters each, letters and fillers only.
ICAO_CODES: tuple[str, ...] = tuple(
    sorted({"D<<" if code == "DEU" else code for code in _ISO_3166_ALPHA3} | set(_ICAO_ONLY))
)
