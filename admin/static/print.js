// "Print" on the day sheet (admin/templates/admin/calendar_sheet.html): the CSP allows
// no onclick="window.print()", so the button is wired here.
document.querySelectorAll("[data-print]").forEach(function (button) {
  button.addEventListener("click", function () {
    window.print();
  });
});
