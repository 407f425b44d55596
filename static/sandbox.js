// The sandbox pages take the Lark client look (loaded at the top of <body>).
document.body.classList.add("lk-body");
