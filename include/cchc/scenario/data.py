"""The tables a national scenario is made from: the 34 provinces and cities since 1 July 2025.

Provinces in the order of Resolution 202/2025/QH15 (the 11 unchanged ones, then the merged ones),
each with its number of wards (phường), communes (xã) and special zones (đặc khu) after the
rearrangement of the commune level (3,321 in all: from 38 in Lai Châu to 168 in Hồ Chí Minh City;
13 special zones), a rough population (for the volumes of dossiers) and the departments it has
beyond the twelve every province has. The special zones carry their real names; the wards and
communes get names made of common place-name syllables (``SYLLABLES``), unique in their province:
the real lists are long and change, a scenario only needs names that read as Vietnamese ones.

People, mailboxes and portal identifiers are made up. Every name is NFC with full diacritics.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Province:
    slug: str  # the authority folder and id: "ha-noi"
    name: str  # "Hà Nội", without the level word
    city: bool  # a centrally-run city (thành phố trực thuộc trung ương)
    root: str  # rootDepartmentId on the portal (made up)
    wards: int
    communes: int
    special_zones: tuple[str, ...]
    population: float  # millions, rounded: scales the volumes of dossiers
    extras: str  # departments beyond the common twelve (letters of ``EXTRA_DEPARTMENTS``)
    highland: str = ""  # "north" or "central": part of the communes get names of those languages

    @property
    def level_word(self) -> str:
        return "thành phố" if self.city else "tỉnh"

    @property
    def full_name(self) -> str:
        """'thành phố Hà Nội', 'tỉnh Sơn La': the authority's name as the letter writes it."""
        return f"{self.level_word} {self.name}"

    @property
    def domain(self) -> str:
        """The made-up mail domain: 'hanoi.example.gov.vn' (never a real one: .example is reserved)."""
        return f"{self.slug.replace('-', '')}.example.gov.vn"

    @property
    def local_units(self) -> int:
        return self.wards + self.communes + len(self.special_zones)


PROVINCES: tuple[Province, ...] = (
    Province("ha-noi", "Hà Nội", True, "HNI", 51, 75, (), 8.7, "DNTKQ"),
    Province("hue", "Huế", True, "HUE", 21, 19, (), 1.2, "NTE"),
    Province("lai-chau", "Lai Châu", False, "LCU", 5, 33, (), 0.5, "DN", "north"),
    Province("dien-bien", "Điện Biên", False, "DBN", 3, 42, (), 0.6, "DN", "north"),
    Province("son-la", "Sơn La", False, "SLA", 8, 67, (), 1.3, "DN", "north"),
    Province("lang-son", "Lạng Sơn", False, "LSN", 4, 61, (), 0.8, "DNE", "north"),
    Province("quang-ninh", "Quảng Ninh", False, "QNH", 30, 22, ("Vân Đồn", "Cô Tô"), 1.4, "DNTE"),
    Province("thanh-hoa", "Thanh Hóa", False, "THA", 19, 147, (), 3.7, "DEK"),
    Province("nghe-an", "Nghệ An", False, "NAN", 11, 119, (), 3.4, "DNE"),
    Province("ha-tinh", "Hà Tĩnh", False, "HTH", 9, 60, (), 1.3, "NE"),
    Province("cao-bang", "Cao Bằng", False, "CBG", 3, 53, (), 0.55, "DNE", "north"),
    Province("tuyen-quang", "Tuyên Quang", False, "TQG", 7, 117, (), 1.9, "DN", "north"),
    Province("lao-cai", "Lào Cai", False, "LCI", 10, 89, (), 1.8, "DNE", "north"),
    Province("thai-nguyen", "Thái Nguyên", False, "TNN", 15, 77, (), 1.8, "DK"),
    Province("phu-tho", "Phú Thọ", False, "PTO", 15, 133, (), 4.0, "DK"),
    Province("bac-ninh", "Bắc Ninh", False, "BNH", 33, 66, (), 3.6, "DK"),
    Province("hung-yen", "Hưng Yên", False, "HYN", 11, 93, (), 3.6, "DK"),
    Province("hai-phong", "Hải Phòng", True, "HPG", 45, 67, ("Cát Hải", "Bạch Long Vĩ"), 4.7, "NE"),
    Province("ninh-binh", "Ninh Bình", False, "NBH", 32, 97, (), 4.4, "DKT"),
    Province("quang-tri", "Quảng Trị", False, "QTI", 8, 69, ("Cồn Cỏ",), 1.9, "DNE"),
    Province("da-nang", "Đà Nẵng", True, "DNG", 23, 70, ("Hoàng Sa",), 3.1, "NTK"),
    Province("quang-ngai", "Quảng Ngãi", False, "QNI", 9, 86, ("Lý Sơn",), 2.2, "DNE", "central"),
    Province("gia-lai", "Gia Lai", False, "GLI", 25, 110, (), 3.6, "DNE", "central"),
    Province("khanh-hoa", "Khánh Hòa", False, "KHA", 16, 48, ("Trường Sa",), 2.2, "DNTE"),
    Province("lam-dong", "Lâm Đồng", False, "LDG", 20, 103, ("Phú Quý",), 3.9, "DTK", "central"),
    Province("dak-lak", "Đắk Lắk", False, "DLK", 14, 88, (), 3.4, "DNE", "central"),
    Province("ho-chi-minh", "Hồ Chí Minh", True, "HCM", 113, 54, ("Côn Đảo",), 14.0, "NTKQA"),
    Province("dong-nai", "Đồng Nai", False, "DNI", 23, 72, (), 4.5, "DK"),
    Province("tay-ninh", "Tây Ninh", False, "TNH", 14, 82, (), 3.3, "NKE"),
    Province("can-tho", "Cần Thơ", True, "CTO", 31, 72, (), 4.2, "DNK"),
    Province("vinh-long", "Vĩnh Long", False, "VLG", 19, 105, (), 4.3, "DK"),
    Province("dong-thap", "Đồng Tháp", False, "DTP", 20, 82, (), 4.4, "DNK"),
    Province("ca-mau", "Cà Mau", False, "CMU", 9, 55, (), 2.6, "DE"),
    Province("an-giang", "An Giang", False, "AGG", 14, 85, ("Phú Quốc", "Kiên Hải", "Thổ Châu"), 4.9, "DNE"),
)


@dataclass(frozen=True)
class Department:
    """A department of the provincial committee; ``{level}`` in a name is 'tỉnh' or 'thành phố'."""

    code: str
    name: str
    head_title: str
    mailbox: str
    volume: float  # dossiers received in a month, median, for a province of two million people
    fee_share: float  # share of the resolved dossiers that are of fee-bearing procedures


# Every province has these twelve (the model of specialised agencies from 1 March 2025).
COMMON_DEPARTMENTS: tuple[Department, ...] = (
    Department("S-NV", "Sở Nội vụ", "Giám đốc Sở", "sonoivu", 70, 0.05),
    Department("S-TC", "Sở Tài chính", "Giám đốc Sở", "sotaichinh", 160, 0.35),
    Department("S-TP", "Sở Tư pháp", "Giám đốc Sở", "sotuphap", 650, 0.85),
    Department("S-XD", "Sở Xây dựng", "Giám đốc Sở", "soxaydung", 280, 0.6),
    Department("S-NNMT", "Sở Nông nghiệp và Môi trường", "Giám đốc Sở", "sonnmt", 520, 0.7),
    Department("S-CT", "Sở Công Thương", "Giám đốc Sở", "socongthuong", 320, 0.5),
    Department("S-KHCN", "Sở Khoa học và Công nghệ", "Giám đốc Sở", "sokhcn", 45, 0.3),
    Department("S-GDDT", "Sở Giáo dục và Đào tạo", "Giám đốc Sở", "sogddt", 150, 0.1),
    Department("S-YT", "Sở Y tế", "Giám đốc Sở", "soyte", 360, 0.6),
    Department("S-VHTTDL", "Sở Văn hóa, Thể thao và Du lịch", "Giám đốc Sở", "sovhttdl", 90, 0.35),
    Department("TTR", "Thanh tra {level}", "Chánh Thanh tra", "thanhtra", 18, 0.0),
    Department("VP-UBND", "Văn phòng UBND {level}", "Chánh Văn phòng", "vanphong", 25, 0.0),
)
# The others, by the letter a province's ``extras`` lists them with. "T" splits culture and tourism:
# the province has a Sở Văn hóa và Thể thao and a Sở Du lịch instead of the joint department.
EXTRA_DEPARTMENTS: dict[str, tuple[Department, ...]] = {
    "D": (Department("S-DTTG", "Sở Dân tộc và Tôn giáo", "Giám đốc Sở", "sodttg", 22, 0.0),),
    "N": (Department("S-NGV", "Sở Ngoại vụ", "Giám đốc Sở", "songoaivu", 35, 0.25),),
    "T": (
        Department("S-VHTT", "Sở Văn hóa và Thể thao", "Giám đốc Sở", "sovhtt", 70, 0.3),
        Department("S-DL", "Sở Du lịch", "Giám đốc Sở", "sodulich", 55, 0.45),
    ),
    "K": (
        Department("BQL-KCN", "Ban Quản lý các khu công nghiệp {level}", "Trưởng Ban", "bqlkcn", 190, 0.35),
    ),
    "E": (Department("BQL-KKT", "Ban Quản lý Khu kinh tế {level}", "Trưởng Ban", "bqlkkt", 120, 0.4),),
    "Q": (Department("S-QHKT", "Sở Quy hoạch - Kiến trúc", "Giám đốc Sở", "soqhkt", 90, 0.5),),
    "A": (Department("S-ATTP", "Sở An toàn thực phẩm", "Giám đốc Sở", "soattp", 210, 0.6),),
}


@dataclass(frozen=True)
class Agency:
    """A vertical agency on the province's territory: ``{place}`` is 'tỉnh Sơn La', 'thành phố Huế'."""

    code: str
    name: str
    head_title: str  # with the level word: "Giám đốc Công an {level}"
    mailbox: str
    volume: float
    fee_share: float


VERTICAL_AGENCIES: tuple[Agency, ...] = (
    Agency("CA", "Công an {place}", "Giám đốc Công an {level}", "congan", 3200, 0.55),
    Agency("BHXH", "Bảo hiểm xã hội {place}", "Giám đốc Bảo hiểm xã hội {level}", "bhxh", 1500, 0.12),
    Agency("THUE", "Thuế {place}", "Trưởng Thuế {level}", "thue", 1200, 0.4),
)

# Dossiers a month of a ward or commune of 30,000 people (the national mean), median.
WARD_VOLUME, COMMUNE_VOLUME = 420.0, 210.0
# Special zones are islands of very different sizes: dossiers a month, median.
SPECIAL_ZONE_VOLUME = {
    "Vân Đồn": 320,
    "Cô Tô": 45,
    "Cát Hải": 210,
    "Bạch Long Vĩ": 15,
    "Cồn Cỏ": 8,
    "Hoàng Sa": 4,
    "Lý Sơn": 120,
    "Trường Sa": 9,
    "Phú Quý": 130,
    "Côn Đảo": 160,
    "Phú Quốc": 950,
    "Kiên Hải": 60,
    "Thổ Châu": 12,
}

# Place-name syllables: a name is two of them (never twice the same). "kinh" serves everywhere;
# "north" (Thái, Tày, Nùng, H'Mông names of the northern mountains) and "central" (Ê Đê, Gia Rai,
# Ba Na, … of the Central Highlands) name part of the communes of the provinces marked so.
# fmt: off
SYLLABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "kinh": (
        (
            "An", "Bình", "Phú", "Tân", "Hòa", "Long", "Phước", "Thạnh", "Hưng", "Thịnh",
            "Xuân", "Yên", "Quang", "Minh", "Đông", "Tây", "Nam", "Bắc", "Trung", "Vĩnh",
            "Mỹ", "Thuận", "Hiệp", "Thái", "Phong", "Đức", "Hồng", "Kim", "Lộc", "Nghĩa",
            "Thanh", "Định", "Gia", "Hải", "Sơn", "Cẩm", "Quảng", "Đại", "Hoàng", "Việt",
            "Khánh", "Lạc", "Tiên", "Bảo", "Ngọc", "Trường", "Hương", "Thượng", "Tam", "Kiến",
            "Châu", "Cát", "Lâm", "Liên", "Nhân", "Văn", "Hà", "Thủy", "Phúc", "Quế",
        ),
        (
            "An", "Bình", "Hòa", "Phú", "Lợi", "Thành", "Hưng", "Thịnh", "Long", "Lộc",
            "Phước", "Tiến", "Hải", "Sơn", "Lâm", "Thủy", "Điền", "Giang", "Hà", "Khê",
            "Đông", "Tây", "Nam", "Trung", "Quang", "Minh", "Xuân", "Yên", "Định", "Mỹ",
            "Nghĩa", "Đức", "Tân", "Thuận", "Hiệp", "Phong", "Linh", "Vân", "Cường", "Hợp",
            "Thắng", "Lạc", "Khánh", "Hội", "Thạch", "Mai", "Dương", "Chánh", "Lập", "Tường",
            "Vinh", "Hậu", "Kỳ", "Châu", "Trạch", "Xá", "Quý", "Tài", "Phát", "Đạt",
        ),
    ),
    "north": (
        (
            "Mường", "Nậm", "Pa", "Tà", "Sìn", "Bản", "Chiềng", "Nà", "Khuổi", "Phìn",
            "Lũng", "Bum", "Tủa", "Sà", "Mù", "Pú", "Huổi", "Co", "Lùng", "Quản",
        ),
        (
            "Tè", "Nhùn", "Hồ", "Tần", "Nưa", "Mạ", "Lao", "Chải", "Ngàm", "Cang",
            "Chà", "Khoang", "Lay", "Mười", "Bú", "Sáng", "Phăng", "Hon", "Phặc", "Ngòi",
        ),
    ),
    "central": (
        ("Ia", "Ea", "Krông", "Đắk", "Kon", "Chư", "Buôn", "Đam", "Ayun", "Bờ"),
        (
            "Grai", "Pa", "Kar", "Súp", "Pắc", "Mil", "Plông", "Sê", "Đôn", "Rông",
            "Bông", "Ning", "Tơi", "Kly", "Drăng", "Hiao", "Tul", "Rve", "Wer", "Nang",
        ),
    ),
}
# fmt: on
HIGHLAND_SHARE = {"north": 0.5, "central": 0.3}

# Made-up people: the signer of each province's letters.
FAMILY_NAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ")
MIDDLE_NAMES = ("Văn", "Thị", "Minh", "Quốc", "Thanh", "Đức", "Hữu", "Ngọc", "Xuân", "Thu", "Hoài", "Anh")
# fmt: off
GIVEN_NAMES = (
    "Hùng", "Lan", "Hải", "Sơn", "Hà", "Tuấn", "Hương", "Dũng", "Nam", "Phương",
    "Bình", "Long", "Thảo", "Quân", "Khoa", "Trung", "Hạnh", "Tâm", "Việt", "Thắng",
)
# fmt: on

# Online-payment targets from the first year generated (percent of fee-bearing dossiers, month and
# year to date): 60% unless listed; made up, in the spirit of the provinces that raised theirs.
PAYMENT_TARGET = 60
PAYMENT_TARGETS = {
    "ha-noi": 70,
    "ho-chi-minh": 70,
    "da-nang": 70,
    "lai-chau": 50,
    "dien-bien": 50,
    "cao-bang": 50,
}
# Compass words that do not pair in a name ("Đông Tây").
DIRECTIONS = frozenset(("Đông", "Tây", "Nam", "Bắc", "Trung", "Thượng"))
