"""The demo city: Hangzhou's ten districts, their roads, housing estates and outage causes.

District codes are the national administrative division codes (GB/T 2260), so they are stable,
unique and already known to any utility's billing system.
"""

from __future__ import annotations

from dataclasses import dataclass

CITY = "杭州市"
CITY_EN = "Hangzhou"
AREA_CODE = "0571"


@dataclass(frozen=True)
class District:
    code: str
    name: str
    name_en: str
    weight: float  # share of the customers living there
    read_day: int  # day of the month meters are read (抄表例日)
    issue_day: int  # day of the next month the bill is issued
    roads: tuple[tuple[str, str], ...]  # (Chinese, English)


DISTRICTS: tuple[District, ...] = (
    District("330102", "上城区", "Shangcheng District", 1.2, 20, 1, (
        ("解放路", "Jiefang Road"), ("庆春路", "Qingchun Road"), ("延安路", "Yan'an Road"),
        ("中山南路", "Zhongshan South Road"), ("望江路", "Wangjiang Road"),
        ("清泰街", "Qingtai Street"), ("秋涛路", "Qiutao Road"), ("钱江路", "Qianjiang Road"),
        ("江锦路", "Jiangjin Road"), ("凤起东路", "Fengqi East Road"))),
    District("330105", "拱墅区", "Gongshu District", 1.1, 21, 1, (
        ("莫干山路", "Moganshan Road"), ("湖墅南路", "Hushu South Road"),
        ("大关路", "Daguan Road"), ("台州路", "Taizhou Road"), ("登云路", "Dengyun Road"),
        ("丽水路", "Lishui Road"), ("小河路", "Xiaohe Road"), ("文晖路", "Wenhui Road"),
        ("德胜路", "Desheng Road"), ("体育场路", "Tiyuchang Road"))),
    District("330106", "西湖区", "Xihu District", 1.2, 22, 2, (
        ("文三路", "Wensan Road"), ("文二路", "Wen'er Road"), ("学院路", "Xueyuan Road"),
        ("教工路", "Jiaogong Road"), ("天目山路", "Tianmushan Road"), ("古墩路", "Gudun Road"),
        ("西溪路", "Xixi Road"), ("曙光路", "Shuguang Road"), ("保俶路", "Baochu Road"),
        ("丰潭路", "Fengtan Road"))),
    District("330108", "滨江区", "Binjiang District", 0.8, 23, 2, (
        ("江南大道", "Jiangnan Avenue"), ("滨盛路", "Binsheng Road"), ("江陵路", "Jiangling Road"),
        ("长河路", "Changhe Road"), ("春晓路", "Chunxiao Road"), ("江虹路", "Jianghong Road"),
        ("西兴路", "Xixing Road"), ("滨安路", "Bin'an Road"), ("月明路", "Yueming Road"),
        ("聚才路", "Jucai Road"))),
    District("330109", "萧山区", "Xiaoshan District", 1.4, 24, 3, (
        ("市心路", "Shixin Road"), ("金城路", "Jincheng Road"), ("人民路", "Renmin Road"),
        ("通惠路", "Tonghui Road"), ("山阴路", "Shanyin Road"), ("育才路", "Yucai Road"),
        ("北干山路", "Beiganshan Road"), ("工人路", "Gongren Road"),
        ("萧然东路", "Xiaoran East Road"), ("建设一路", "Jianshe 1st Road"))),
    District("330110", "余杭区", "Yuhang District", 1.3, 25, 3, (
        ("文一西路", "Wenyi West Road"), ("五常大道", "Wuchang Avenue"), ("良睦路", "Liangmu Road"),
        ("闲林路", "Xianlin Road"), ("仓前街", "Cangqian Street"), ("高教路", "Gaojiao Road"),
        ("龙潭路", "Longtan Road"), ("余杭塘路", "Yuhangtang Road"),
        ("荆长大道", "Jingchang Avenue"), ("联胜路", "Liansheng Road"))),
    District("330113", "临平区", "Linping District", 0.8, 25, 4, (
        ("迎宾路", "Yingbin Road"), ("世纪大道", "Shiji Avenue"),
        ("藕花洲大街", "Ouhuazhou Street"), ("南苑街", "Nanyuan Street"),
        ("星光街", "Xingguang Street"), ("东湖路", "Donghu Road"), ("临东路", "Lindong Road"),
        ("北沙西路", "Beisha West Road"))),
    District("330114", "钱塘区", "Qiantang District", 0.7, 26, 4, (
        ("学林街", "Xuelin Street"), ("学源街", "Xueyuan Street"), ("文泽路", "Wenze Road"),
        ("下沙路", "Xiasha Road"), ("天城东路", "Tiancheng East Road"),
        ("江东大道", "Jiangdong Avenue"), ("听涛路", "Tingtao Road"), ("义蓬路", "Yipeng Road"))),
    District("330111", "富阳区", "Fuyang District", 0.7, 27, 5, (
        ("富春街", "Fuchun Street"), ("桂花路", "Guihua Road"),
        ("江滨西大道", "Jiangbin West Avenue"), ("金桥路", "Jinqiao Road"),
        ("体育馆路", "Tiyuguan Road"), ("北环路", "Beihuan Road"), ("迎宾北路", "Yingbin North Road"))),
    District("330112", "临安区", "Lin'an District", 0.5, 27, 5, (
        ("钱王大街", "Qianwang Street"), ("衣锦街", "Yijin Street"), ("万马路", "Wanma Road"),
        ("城中街", "Chengzhong Street"), ("环城北路", "Huancheng North Road"),
        ("石镜街", "Shijing Street"), ("苕溪北街", "Tiaoxi North Street"))),
)

ESTATE_WORDS = [
    "金色", "翠苑", "阳光", "锦绣", "东方", "和平", "绿城", "桂花", "江南", "丽都", "嘉禾",
    "紫金", "朝晖", "星河", "湖滨", "之江", "蓝天", "春江", "望湖", "竹海",
]
ESTATE_SUFFIXES = ["花园", "家园", "公寓", "小区", "苑", "新村", "府", "名邸"]

# Why the water, power or gas went off: (Chinese, English), by utility and kind.
OUTAGE_CAUSES: dict[tuple[str, str], list[tuple[str, str]]] = {
    ("water", "planned"): [
        ("供水管网改造施工", "water main renewal works"),
        ("水表集中更换", "meter replacement"),
        ("二次供水水箱清洗", "cleaning of the building water tanks"),
        ("管道碰接施工", "connecting a new water main"),
    ],
    ("water", "unplanned"): [
        ("供水管道爆裂抢修", "emergency repair of a burst water main"),
        ("阀门故障抢修", "emergency repair of a faulty valve"),
        ("施工挖断供水管道", "a water main damaged by road works"),
    ],
    ("power", "planned"): [
        ("10千伏线路检修", "maintenance of the 10 kV line"),
        ("配电变压器增容改造", "upgrading the distribution transformer"),
    ],
    ("power", "unplanned"): [
        ("10千伏线路故障抢修", "emergency repair of a 10 kV line fault"),
        ("配电设备故障", "a distribution equipment fault"),
    ],
    ("gas", "planned"): [
        ("燃气管道碰接施工", "connecting a new gas main"),
        ("调压设施检修", "maintenance of the pressure regulator"),
    ],
    ("gas", "unplanned"): [
        ("燃气管道泄漏抢修", "emergency repair of a gas leak"),
    ],
}
