// The list's search box posts its term instead of putting it in the URL: a patient's
// name or phone then never appears in an address bar, the history or an access log.
document.querySelectorAll('form[role="search"]').forEach(function (form) {
  form.method = "post";
  form.action = window.location.pathname.replace(/\/?$/, "/") + "search/";
});
