"""Name lists for finding person names without a cue word, and the capitalized words that are
not names.

`pii_names.txt.gz` beside this module holds four lists, one entry a line with a tag:
- `F` given names and `S` surnames, in Latin script, of the ~60 locales of the Faker package's
  person providers (MIT licence; about 21k given names and 27k surnames from Europe, the
  Americas, Africa, South and East Asia), plus the romanized names below that Faker lacks
  (Russian and Ukrainian, Chinese pinyin, Korean, Japanese, Arabic, Indian, Vietnamese, West
  and Southern African);
- `W` lower-case common words: the lorem word lists of Faker's Latin-script locales (English,
  German, French, Spanish, Italian, Dutch, Polish, Czech, Danish, ...), English job titles,
  colours, countries, states, street suffixes and company phrases, and calendar words;
- `N` the hand list below of capitalized words that are never part of a name here (place-name
  heads, products, organisations, UI and heading words, greetings and titles).

A given name that is also a common word (Will, May, Grace, Jordan) is ambiguous: the anonymizer
asks more of the words around it. No model, no download: loading takes ~0.1 s and ~10 MB.

Rebuild the file (needs `pip install faker`; the output is deterministic for a Faker version):

    python -m pipeline.privacy.pii_names
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).with_name("pii_names.txt.gz")

# Romanized names Faker's Latin-script lists lack (its ru_RU, uk_UA, ko_KR, ar_*, hi_IN lists
# are in their own scripts). Common names of each tradition, not drawn from any test corpus.
EXTRA_FIRST = """
Aleksandr Alexandr Alexei Alexey Aleksei Aleksey Andrei Andrey Anton Artem Artyom Boris Denis Dmitri
Dmitry Dmitriy Egor Yegor Evgeny Evgeniy Yevgeny Fyodor Fedor Georgy Grigory Igor Ilya Ivan Kirill
Konstantin Leonid Maxim Maksim Mikhail Nikita Nikolai Nikolay Oleg Pavel Ruslan Sergei Sergey
Stanislav Timur Vadim Valentin Valery Vasily Viktor Vitaly Vladimir Vladislav Vyacheslav Yaroslav
Yuri Yury Anastasia Alina Daria Darya Ekaterina Yekaterina Yelena Galina Irina Ksenia Kseniya Larisa
Lyudmila Marina Natalia Natalya Nadezhda Oksana Polina Svetlana Tatiana Tatyana Valentina Veronika
Yulia Yuliya Zoya Bogdan Taras Mykola Oleksandr Oleksii Andriy Yurii Volodymyr Olena Iryna Kateryna
Min-jun Seo-yeon Ji-woo Ji-ho Ha-eun Seo-jun Do-yun Ji-hoon Hyun-woo Joon-ho Min-seo Su-bin Ye-jin
Eun-ji Jae-won Sung-min Young-ho Hye-jin Jin-woo Dong-hyun Min-ji Soo-jin Jae-hyun Seung-hoon Ji-yeon
Wei Fang Jing Min Jun Lei Yang Yan Ying Hui Hong Ming Hao Jie Tao Qiang Ping Gang Xin Yu Yi Xiaoming
Xiaoling Xiaoyu Jian Jianguo Zhiwei Haoran Yuxuan Zihan Yiming Mei Ling Xue Lijuan Xiuying Guiying
Haruto Sota Yuto Hinata Riku Ren Kaito Takumi Hiroshi Takashi Kenji Satoshi Yuki Daiki Shota Kazuki
Ryota Yui Aoi Hina Sakura Yuna Rin Miyu Haruka Nanami Ayaka Misaki Yoko Keiko Naoko Tomoko Kenta
Mohammed Muhammad Mohamed Ahmed Ahmad Omar Umar Hassan Hussein Hussain Khalid Khaled Youssef Yusuf
Ibrahim Abdullah Mahmoud Mustafa Mostafa Tariq Karim Kareem Samir Rami Fadi Ziad Nabil Walid Hamza
Bilal Amir Faisal Saeed Salim Fatima Aisha Ayesha Layla Leila Laila Mariam Maryam Noor Nour Yasmin
Yasmine Zainab Zeinab Huda Hana Rania Salma Amina Samira Nadia Dina Rana Lina Reem
Arjun Aarav Vivaan Aditya Rohan Rahul Vikram Karan Amit Sanjay Suresh Ramesh Rajesh Anil Sunil Vijay
Ravi Deepak Manoj Ashok Priya Ananya Aditi Divya Pooja Neha Kavya Shreya Lakshmi Sunita Anjali Meera
Riya Isha Nisha Anh Binh Minh Linh Lan Hoa Huong Tuan Thanh Hung Dung Duc Khanh Long Nam Phuong Quang
Thao Trang Trung Hieu Thabo Sipho Themba Lerato Nomvula Kagiso Tshepo Bongani Chinedu Chioma Ngozi
Emeka Obinna Uche Tunde Femi Funmilayo Kemi Yemi Segun Bola Kwame Kofi Ama Akosua Yaw Kwabena Wanjiru
Wambui Otieno Kamau Njeri
"""
EXTRA_SURNAMES = """
Ivanov Smirnov Kuznetsov Popov Vasiliev Petrov Sokolov Mikhailov Novikov Fedorov Morozov Volkov
Alekseev Lebedev Semenov Egorov Pavlov Kozlov Stepanov Nikolaev Orlov Andreev Makarov Nikitin
Zakharov Zaitsev Solovyov Borisov Yakovlev Grigoriev Romanov Vorobyov Sergeev Kuzmin Frolov
Alexandrov Dmitriev Korolev Gusev Kiselev Ilyin Maksimov Polyakov Sorokin Vinogradov Kovalev Belov
Medvedev Antonov Tarasov Zhukov Baranov Filippov Komarov Davydov Belyaev Gerasimov Bogdanov Osipov
Sidorov Matveev Titov Markov Mironov Krylov Kulikov Karpov Vlasov Melnikov Denisov Gavrilov Tikhonov
Kazakov Danilov Timofeev Fomin Chernov Abramov Martynov Efimov Nazarov Kalinin Isaev Bykov Maslov
Rodionov Konovalov Lazarev Voronin Klimov Filatov Ponomarev Golubev Kudryavtsev Prokhorov Naumov
Zhuravlev Trofimov Leonov Sobolev Ermakov Kolesnikov Goncharov Emelyanov Nikiforov Kotov Grishin
Shevchenko Kovalenko Bondarenko Tkachenko Kravchenko Oliynyk Melnyk Boyko Koval Lysenko Marchenko
Wang Li Zhang Liu Chen Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu Guo He Gao Lin Luo Zheng Liang Xie
Song Tang Han Feng Deng Cao Peng Zeng Xiao Tian Dong Pan Yuan Cai Jiang Du Ye Cheng Su Lu Ding Ren
Shen Yao Jin Fu Zhong Cui Tan Liao Fan Wong Chan Lee Leung Cheung Lau Ho Ng Chow Tsang Yip Kwok
Kim Park Choi Jung Jeong Kang Cho Jo Yoon Yun Jang Lim Oh Seo Shin Kwon Hwang Ahn Yoo Jeon Ko Moon
Son Bae Baek Sato Suzuki Takahashi Tanaka Watanabe Ito Yamamoto Nakamura Kobayashi Kato Yoshida
Yamada Sasaki Yamaguchi Matsumoto Inoue Kimura Hayashi Shimizu Yamazaki Mori Abe Ikeda Hashimoto
Yamashita Ishikawa Nakajima Maeda Fujita Ogawa Goto Okada Hasegawa Murakami Kondo Ishii Saito
Sakamoto Endo Aoki Fujii Nishimura Fukuda Ota Miura Fujiwara Okamoto Matsuda Nakagawa
Haddad Mansour Khoury Nasser Saleh Abbas Aziz Rahman Karimi Farouk Hamdan Qureshi Siddiqui Sheikh
Malik Khan Chaudhry Ansari Haider Rashid Najjar Sabbagh Masri Halabi Sharma Verma Gupta Mehta Patel
Shah Singh Kumar Reddy Rao Iyer Iyengar Nair Menon Pillai Krishnan Subramanian Chatterjee Banerjee
Mukherjee Das Bose Ghosh Sen Joshi Kulkarni Desai Jain Agarwal Malhotra Kapoor Chopra Bhat Naidu
Choudhury Nguyen Tran Pham Hoang Huynh Phan Vu Vo Dang Bui Ngo Duong Ly Mokoena Nkosi Dlamini
Ndlovu Khumalo Mahlangu Molefe Okonkwo Okeke Okafor Adeyemi Adebayo Ogunleye Bello Abubakar
Nwachukwu Obi Mensah Owusu Boateng Asante Mwangi Ochieng Yılmaz Kaya Demir Şahin Çelik Yıldız
Yıldırım Öztürk Aydın Özdemir Arslan Doğan Kılıç Aslan Çetin Kara Koç Kurt Özkan Şimşek Polat
Korkmaz Erdoğan
"""
# Capitalized words that are never part of a person's name here (the `N` list): place-name heads,
# organisation and product words, UI and heading words, greetings and titles.
NOT_NAMES = """
San Santa Santo São Saint St Los Las New Port Fort Mount Mt Lake Cape Bay North South East West
Central Upper Lower Great Little Puerto Rio Porto Buenos Sri Hong Tel Abu Kuala Ciudad
United Royal National International Global General University College Institute School Academy
Hospital Clinic Bank Group Team Teams Inc Ltd Corp Company Foundation Street Road Avenue Station
Airport River Bridge Tower Hotel Center Centre Mall Square Office Department Ministry
Council Service Services Support Sales Marketing Finance Engineering Product Manager Director
Officer President Minister Customer Client User Admin Settings Billing Account Dashboard Profile
Google Microsoft Apple Amazon Meta Facebook Netflix Tesla Oracle Adobe Salesforce Slack Zoom Docker
Kubernetes Python Java JavaScript TypeScript Rust Ruby Julia Swift Kotlin Scala Perl Linux Windows
Android Chrome Firefox Safari Excel Outlook Azure GitHub GitLab Jira Notion Figma Shopify Stripe
PayPal Visa Mastercard Uber Airbnb Spotify Twitter LinkedIn YouTube Instagram WhatsApp Telegram
Siri Alexa Cortana Claude Gemini Llama Mistral Copilot OpenAI Anthropic Nvidia Intel Samsung Sony
Nokia Huawei Xiaomi Lenovo Dell Toyota Honda Mercedes Benz Audi Volkswagen Porsche Ferrari
Jaguar Volvo Nike Adidas Ikea Zara Gucci Prada Chanel Disney Marvel Pixar Mac MacBook Pro Max Plus
Ultra Mini Air Studio Code Cloud Platform Server Desktop Notebook Lab Labs Hub Edge Acme Jupyter Viagem
Hi Hello Hey Dear Thanks Thank Cheers Regards Best Sincerely Hallo Hola Bonjour Salut Ciao
Olá Oi Hej Merci Danke Gracias Grazie Obrigado Obrigada Bitte Liebe Lieber Sehr Mr Mrs Ms Miss Dr
Prof Sir Madam Herr Frau Monsieur Madame Mme Señor Señora Senhor Senhora Signor Signora The This
That These Those There Here What When Where Which Who Why How Yes Not Please Sorry Also But And
Or If Then So Release Notes Update Guide Getting Started Questions Terms Policy Privacy Version
Error Warning Exception Traceback Module Package Library Framework Engine Model Models Data Test
"""
# Calendar words: common words, but also given names (April, June, May), so only ambiguous
CALENDAR = """
Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April May June July
August September October November December Montag Dienstag Mittwoch Donnerstag Freitag Samstag
Sonntag Januar Februar März Juni Juli Oktober Dezember Lundi Mardi Mercredi Jeudi Vendredi Samedi
Dimanche Janvier Février Mars Avril Mai Juin Juillet Août Septembre Octobre Novembre Décembre
Lunes Martes Miércoles Jueves Viernes Sábado Domingo Enero Febrero Marzo Abril Mayo Junio Julio
Agosto Septiembre Octubre Noviembre Diciembre Christmas Easter Eve Black Cyber Day Night Morning
Evening
"""


@dataclass(frozen=True)
class Lexicon:
    first: frozenset[str]
    surnames: frozenset[str]
    words: frozenset[str]  # lower case
    never: frozenset[str]


@cache
def lexicon() -> Lexicon:
    first, surnames, words, never = set(), set(), set(), set()
    sets = {"F": first, "S": surnames, "W": words, "N": never}
    with gzip.open(DATA, "rt", encoding="utf-8") as fh:
        for line in fh:
            tag, value = line.rstrip("\n").split("\t", 1)
            sets[tag].add(value)
    return Lexicon(frozenset(first), frozenset(surnames), frozenset(words), frozenset(never))


def _name_form(value: str) -> str | None:
    """A name as it is written capitalized in running text ('CHE-WEI' -> 'Che-Wei'), or None."""
    value = value.strip()
    if not re.fullmatch(r"[^\W\d_]+(?:['’-][^\W\d_]+)*", value) or len(value) < 2:
        return None
    return value.title() if value.isupper() or value.islower() else value


def build(out: Path = DATA) -> dict[str, int]:
    import importlib
    import pkgutil

    import faker.providers.address as address
    import faker.providers.lorem as lorem
    import faker.providers.person as person

    first, surnames, words = set(), set(), set()
    for module in pkgutil.iter_modules(person.__path__):
        provider = importlib.import_module(f"{person.__name__}.{module.name}").Provider
        for attr, value in vars(provider).items():
            if not isinstance(value, (dict, tuple, list, set, frozenset)):
                continue
            target = first if "first_name" in attr or attr == "first_romanized_names" else (
                surnames if "last_name" in attr or attr == "last_romanized_names" else None)
            if target is None:
                continue
            for name in (value.keys() if isinstance(value, dict) else value):
                if isinstance(name, str) and " " in name:  # "de Vries", "van der Berg": the last word
                    *head, name = name.split()
                    if not all(w.islower() for w in head):
                        continue
                form = _name_form(name) if isinstance(name, str) else None
                if form and form.isascii() or form and re.fullmatch(r"[A-Za-zÀ-ɏḀ-ỿ'’-]+", form):
                    target.add(form)
    first.update(EXTRA_FIRST.split())
    surnames.update(EXTRA_SURNAMES.split())
    # Russian surnames have a feminine form
    surnames.update(s + "a" for s in EXTRA_SURNAMES.split() if s.endswith(("ov", "ev", "in")))

    for module in pkgutil.iter_modules(lorem.__path__):
        if module.name == "la":  # lorem ipsum's Latin
            continue
        provider = importlib.import_module(f"{lorem.__name__}.{module.name}").Provider
        for word in getattr(provider, "word_list", ()):
            if re.fullmatch(r"[A-Za-zÀ-ɏ]+", word):
                words.add(word.lower())
    from faker.providers.color.en_US import Provider as Colors
    from faker.providers.company.en_US import Provider as Company
    from faker.providers.job.en_US import Provider as Jobs
    en_address = importlib.import_module(f"{address.__name__}.en_US").Provider
    phrases = [*Jobs.jobs, *Colors.all_colors, *en_address.street_suffixes, *en_address.states,
               *getattr(importlib.import_module(f"{address.__name__}.en").Provider, "countries", ()),
               *(w for group in Company.catch_phrase_words for w in group),
               *(w for group in Company.bsWords for w in group)]
    for phrase in phrases:
        words.update(w.lower() for w in re.findall(r"[A-Za-z]{2,}", phrase))
    words.update(w.lower() for w in (NOT_NAMES + CALENDAR).split())

    lines = [f"F\t{v}" for v in sorted(first)] + [f"S\t{v}" for v in sorted(surnames)] + [f"W\t{v}" for v in sorted(words)]
    lines += [f"N\t{v}" for v in sorted(set(NOT_NAMES.split()))]
    with gzip.GzipFile(out, "wb", mtime=0) as fh:
        fh.write(("\n".join(lines) + "\n").encode())
    return {"first": len(first), "surnames": len(surnames), "words": len(words), "never": len(set(NOT_NAMES.split()))}


if __name__ == "__main__":
    print(build())
