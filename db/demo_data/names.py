"""People and business names for demo customers and staff."""

from __future__ import annotations

# Surname and weight (per mille of the population, roughly the national census shares, with
# Zhejiang's common names 沈, 钱, 俞, 陆, 楼 nudged up). Weighted draws make 王, 李, 张 and 陈 common
# and 欧阳 rare, which is what a real customer file looks like.
SURNAMES: list[tuple[str, float]] = [
    ("王", 71), ("李", 70), ("张", 67), ("刘", 54), ("陈", 60), ("杨", 31), ("黄", 25),
    ("赵", 23), ("吴", 25), ("周", 22), ("徐", 20), ("孙", 13), ("马", 12), ("朱", 14),
    ("胡", 13), ("郭", 10), ("何", 10), ("林", 9), ("罗", 8), ("高", 8), ("郑", 9), ("梁", 7),
    ("谢", 6), ("宋", 5), ("唐", 5), ("许", 6), ("韩", 5), ("冯", 4), ("邓", 4), ("曹", 4),
    ("彭", 4), ("曾", 3), ("肖", 3), ("田", 3), ("董", 3), ("袁", 3), ("潘", 4), ("于", 3),
    ("蒋", 4), ("蔡", 3), ("余", 4), ("杜", 2), ("叶", 4), ("程", 2), ("苏", 2), ("魏", 2),
    ("吕", 2), ("丁", 2), ("任", 2), ("沈", 6), ("姚", 2), ("卢", 2), ("姜", 2), ("崔", 1),
    ("钟", 1), ("谭", 1), ("陆", 3), ("汪", 3), ("范", 2), ("金", 3), ("石", 1), ("廖", 1),
    ("贾", 1), ("夏", 1), ("方", 3), ("邹", 1), ("孟", 1), ("秦", 1), ("江", 1), ("顾", 2),
    ("毛", 2), ("钱", 3), ("严", 1), ("戴", 1), ("俞", 3), ("楼", 2), ("应", 1), ("章", 2),
    ("童", 1), ("施", 1), ("骆", 1), ("虞", 0.5), ("欧阳", 0.3), ("诸葛", 0.1), ("司马", 0.1),
]

# Characters that make up given names; one or two are drawn. Split loosely by the tone they
# carry so a name's two characters read naturally together.
GIVEN_MALE = "伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆志建国峰海军晨轩睿博文斌彬"
GIVEN_FEMALE = "芳娜敏静丽艳娟霞秀英玲婷雪琳莉倩颖洁慧燕萍红梅兰月佳怡欣悦蕾菲晶丹瑶"
GIVEN_NEUTRAL = "子一晓春秋文永嘉雨思小新天家梓安宁益成立雅云清德"

# Foreign residents who asked for English service (language 'en').
ENGLISH_FIRST = [
    "James", "John", "Robert", "Michael", "David", "William", "Mary", "Patricia", "Jennifer",
    "Linda", "Elizabeth", "Susan", "Thomas", "Daniel", "Emma", "Olivia", "Lucas", "Sophie",
]
ENGLISH_LAST = [
    "Smith", "Johnson", "Brown", "Taylor", "Miller", "Wilson", "Moore", "Anderson", "Martin",
    "Clark", "Lewis", "Walker", "Young", "King", "Wright", "Green", "Baker", "Adams",
]

# Businesses: '杭州' + word + trade + suffix, or a shop named after its owner.
COMPANY_WORDS = [
    "恒盛", "金桥", "新华", "天元", "海纳", "鼎信", "瑞丰", "华茂", "东升", "宏达", "博远",
    "嘉禾", "润泽", "百川", "西子", "钱江", "之江", "湖畔", "广源", "锦程", "信达", "明远",
]
COMPANY_TRADES = [
    "餐饮", "酒店", "洗车", "印染", "食品", "物业", "建材", "纺织", "电子", "商贸", "医药",
    "服饰", "文化", "汽修", "幼儿园", "健身",
]
COMPANY_SUFFIXES = ["有限公司", "有限责任公司", "股份有限公司", "经营部"]
SHOP_TRADES = ["面馆", "小吃店", "理发店", "洗衣店", "便利店", "水果店", "茶楼", "包子铺"]
